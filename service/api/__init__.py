"""JSON API blueprints: thin views over the same functions the CLI and the pages call, each operation declared
once with the schemas in ``schemas.py`` (validation, answers and /api/openapi.json)."""

from __future__ import annotations

from ..http.openapi import Api
from . import admin, assistance, batches, cases, catalog, credit, disclosure, documents, forms, health, signing, statistics
from . import templates, verifications, webhooks


def init_app(api: Api) -> None:
    for blueprint in (forms.bp, documents.bp, signing.bp, signing.public, verifications.bp, admin.bp, webhooks.bp, health.bp,
                      catalog.bp, cases.bp, assistance.bp, credit.bp, statistics.bp, disclosure.bp, batches.bp, templates.bp):
        api.register_blueprint(blueprint)
