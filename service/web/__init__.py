"""HTML pages. For now: the public page a document's QR code opens."""

from __future__ import annotations

from flask import Flask

from . import account, public


def init_app(app: Flask) -> None:
    app.register_blueprint(public.bp)
    app.register_blueprint(account.bp)
