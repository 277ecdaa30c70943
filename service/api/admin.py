"""Administrators manage people and API keys: /api/v1/users, /api/v1/keys. Secrets are returned once."""

from __future__ import annotations

from typing import Any

from flask import current_app

from .. import admin
from ..auth.api_keys import ApiKey
from ..auth.http import require_principal
from ..auth.users import User
from ..http.openapi import Blueprint
from ..runtime import Services
from .schemas import (
    KeyListSchema,
    KeyRequestSchema,
    KeySchema,
    NewKeySchema,
    NewUserSchema,
    SignatureImageSchema,
    UserListSchema,
    UserRequestSchema,
)

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1", description="people and API keys (administrators)")


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.get("/users")
@bp.response(200, UserListSchema)
def list_users() -> dict[str, list[User]]:
    """The users."""
    return {"users": admin.list_users(services(), require_principal())}


@bp.post("/users")
@bp.arguments(UserRequestSchema)
@bp.response(201, NewUserSchema, description="created; the generated password is in the answer, once")
@bp.errors((404, "unknown agency"), (409, "user name taken"))
def create_user(body: dict[str, Any]) -> tuple[tuple[User, str], int]:
    """Create a user."""
    return admin.add_user(services(), require_principal(), body["username"], body["role"], body["agency"], body["display_name"]), 201


@bp.get("/keys")
@bp.response(200, KeyListSchema, description="the keys (never the keys themselves)")
def list_keys() -> dict[str, list[ApiKey]]:
    """The API keys."""
    return {"keys": admin.list_keys(services(), require_principal())}


@bp.post("/keys")
@bp.arguments(KeyRequestSchema)
@bp.response(201, NewKeySchema, description="created; the key is in the answer, once")
@bp.errors((404, "unknown agency"))
def create_key(body: dict[str, Any]) -> tuple[tuple[ApiKey, str], int]:
    """Create an API key for agencies and forms."""
    return admin.add_key(services(), require_principal(), body["name"], body["agencies"], body["forms"]), 201


@bp.post("/keys/<key_id>/revoke")
@bp.response(200, KeySchema, description="revoked")
@bp.errors((404, "unknown key"))
def revoke_key(key_id: str) -> ApiKey:
    """Revoke an API key."""
    return admin.revoke_key(services(), require_principal(), key_id)


@bp.put("/account/signature")
@bp.arguments(SignatureImageSchema)
@bp.response(204, description="saved")
@bp.errors((403, "not a signed-in clerk or supervisor"), (422, "not a usable drawing"))
def save_signature(body: dict[str, Any]) -> tuple[str, int]:
    """The signed-in clerk or supervisor saves their handwritten signature (a PNG data URL)."""
    admin.save_signature_image(services(), require_principal(), body["signature"])
    return "", 204
