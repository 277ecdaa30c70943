"""Flask glue: who is calling (API key or signed-in person), CSRF for cookie-authenticated changes."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface

from ..errors import Forbidden, Unauthorized
from .principal import Principal, public

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def client_address() -> str:
    return request.remote_addr or "unknown"


def current_principal() -> Principal | None:
    """The caller, or None; raises Unauthorized for a bad API key (a bad key is never anonymous)."""
    if "principal" in g:
        return g.principal
    services = current_app.extensions["chengnuo"]
    principal: Principal | None = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Authorization 头应为 Bearer <API 密钥>", "the Authorization header must be 'Bearer <API key>'",
                               code="invalid_api_key")
        principal = services.api_keys.authenticate(token.strip(), services.now())
        g.via_key = True
    elif session.get("user_id"):
        user = services.users.by_id(session["user_id"])
        if user is None:
            session.clear()
        else:
            principal = user.principal()
    g.principal = principal
    return principal


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("请提供 API 密钥或先登录", "send an API key (Authorization: Bearer …) or sign in", code="unauthorized")
    return principal


def actor() -> Principal:
    """The caller for the audit trail: signed in, by key, or the public at an address."""
    return current_principal() or public(client_address())


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """A state-changing request that relies on the session cookie must carry the session's CSRF token
    (form field ``csrf_token`` or header ``X-CSRF-Token``). API-key requests carry no cookie to forge."""
    if request.method not in UNSAFE or g.get("via_key") or "csrf" not in session and not session.get("user_id"):
        return
    sent = request.headers.get("X-CSRF-Token") or (request.form.get("csrf_token") if request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data") else None)
    expected = session.get("csrf", "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("请求缺少有效的 CSRF 令牌，请刷新页面后重试", "missing or wrong CSRF token; reload the page and retry", code="csrf_failed")


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` when the service's address is https, and also when this request
    came over https: directly, or through a trusted proxy (CHENGNUO_TRUSTED_PROXIES) that says so in
    X-Forwarded-Proto, which ProxyFix has applied. An untrusted X-Forwarded-Proto changes nothing."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure
