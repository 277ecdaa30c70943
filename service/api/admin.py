"""Administrators manage people and API keys: /api/v1/users, /api/v1/keys. Secrets are returned once."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .. import admin
from ..auth.api_keys import ApiKey
from ..auth.http import require_principal
from ..auth.principal import authorize_admin
from ..auth.users import User
from ..errors import InvalidData
from .body import json_body

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")


def _services():  # type: ignore[no-untyped-def]
    return current_app.extensions["chengnuo"]


def _body() -> dict:
    body = json_body()
    if not isinstance(body, dict):
        raise InvalidData({"_schema": ["请求体应为 JSON 对象 / the body must be a JSON object"]})
    return body


def _text(body: dict, name: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidData({name: ["必填 / required"]})
    return value.strip()


def _list(body: dict, name: str, default: list[str]) -> list[str]:
    value = body.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidData({name: ["应为文本列表 / must be a list of strings"]})
    return value


def user_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "role": user.role, "agency": user.agency,
            "created_at": user.created_at.isoformat(), "disabled": user.disabled_at is not None}


def key_json(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "agencies": list(key.agencies), "forms": list(key.forms),
            "created_at": key.created_at.isoformat(), "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None}


@bp.get("/users")
def list_users() -> Response:
    authorize_admin(require_principal())
    return jsonify({"users": [user_json(u) for u in _services().users.list()]})


@bp.post("/users")
def create_user() -> tuple[Response, int]:
    body = _body()
    user, password = admin.add_user(_services(), require_principal(), _text(body, "username"), _text(body, "role"),
                                    _text(body, "agency", required=False))
    return jsonify({**user_json(user), "password": password}), 201


@bp.get("/keys")
def list_keys() -> Response:
    authorize_admin(require_principal())
    return jsonify({"keys": [key_json(k) for k in _services().api_keys.list()]})


@bp.post("/keys")
def create_key() -> tuple[Response, int]:
    body = _body()
    record, key = admin.add_key(_services(), require_principal(), _text(body, "name"), _list(body, "agencies", []),
                                _list(body, "forms", ["*"]))
    return jsonify({**key_json(record), "key": key}), 201


@bp.post("/keys/<key_id>/revoke")
def revoke_key(key_id: str) -> Response:
    return jsonify(key_json(admin.revoke_key(_services(), require_principal(), key_id)))
