"""chengnuo: numbered, sealed documents for the 证明事项告知承诺制 and 信用承诺 reforms."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from .config import Settings, load_settings
from .logs import configure_logging, new_request_id, request_id_var
from .runtime import Services, build_services

__version__ = "0.1.0"


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """The Flask application. Tests pass their own ``settings`` (or whole ``services``)."""
    import logging

    from . import api, web

    settings = settings or (services.settings if services else load_settings())
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["chengnuo"] = services or build_services(settings)
    access = logging.getLogger("chengnuo.access")

    @app.before_request
    def _start() -> None:
        g.request_id = new_request_id(request.headers.get("X-Request-ID"))
        g.token = request_id_var.set(g.request_id)
        g.started = time.perf_counter()

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

    api.init_app(app)
    web.init_app(app)
    return app
