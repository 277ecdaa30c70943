"""JSON API blueprints: thin views over the same functions the CLI and the pages call."""

from __future__ import annotations

from flask import Flask

from ..http import errors
from . import admin, documents, forms, health, openapi, verifications


def init_app(app: Flask) -> None:
    errors.init_app(app)
    app.register_blueprint(forms.bp)
    app.register_blueprint(documents.bp)
    app.register_blueprint(verifications.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
