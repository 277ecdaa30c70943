"""chengnuo: numbered, sealed documents for the 证明事项告知承诺制 and 信用承诺 reforms."""

from __future__ import annotations

import datetime
import os
import secrets
import time
from pathlib import Path

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from .auth.http import SessionCookies, check_csrf, client_address, current_principal
from .config import Settings, load_settings
from .logs import configure_logging, new_request_id, request_id_var
from .runtime import Services, build_services

__version__ = "0.1.0"


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """The Flask application. Tests pass their own ``settings`` (or whole ``services``)."""
    import logging

    from . import api, web
    from .http.openapi import Api

    settings = settings or (services.settings if services else load_settings())
    configure_logging(settings.log_level)
    app = Flask(__name__, static_folder="web/static", static_url_path="/static")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SECRET_KEY=settings.secret_key or session_secret(settings.data_dir),
        SESSION_COOKIE_NAME="chengnuo_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(hours=8),
    )
    app.session_interface = SessionCookies()
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)  # type: ignore[method-assign]
    app.extensions["chengnuo"] = services or build_services(settings)
    zone = app.extensions["chengnuo"].now().tzinfo
    app.jinja_env.filters["local"] = lambda value: value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "—"
    access = logging.getLogger("chengnuo.access")

    @app.before_request
    def _start() -> None:
        g.request_id = new_request_id(request.headers.get("X-Request-ID"))
        g.token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()
        g.arrived = time.monotonic()  # deadlines (verification) count from here
        current_principal()
        check_csrf()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        started = g.get("started")
        if started is not None:
            access.info("%s %s %s %.0fms", request.method, request.path, response.status_code, (time.perf_counter() - started) * 1000)
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("token", None)
        if token is not None:
            request_id_var.reset(token)

    docs = Api(app, title="chengnuo 告知承诺文书服务", version=__version__,
               description="Issue numbered official forms of the 证明事项告知承诺制 and 信用承诺 reforms as PDFs.")
    api.init_app(docs)
    web.init_app(app, docs)
    # With CHENGNUO_REDIS_URL every node counts against the same limits; should Redis be unreachable, each node
    # falls back to counting in its own memory (and logs it) rather than failing requests.
    limiter = Limiter(key_func=client_address, app=app, storage_uri=settings.redis_url or "memory://", headers_enabled=True,
                      strategy="moving-window", in_memory_fallback_enabled=bool(settings.redis_url),
                      key_prefix="chengnuo")
    for name in ("verifications_api", "public", "verify_pages", "signing_public_api", "signing_pages", "disclosure_api", "disclosure_pages"):
        limiter.limit(settings.public_rate_limit)(app.blueprints[name])
    # limit() returns the limited view; it must replace the registered one to take effect.
    app.view_functions["account.login"] = limiter.limit(settings.login_rate_limit)(app.view_functions["account.login"])
    return app


def session_secret(data_dir: Path) -> str:
    """The key that signs session cookies: made once, kept in the data folder (mode 0600)."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        return secret
