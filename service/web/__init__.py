"""HTML pages for clerks (signed in) and verifiers (public), over the same functions as the API."""

from __future__ import annotations

from flask import Flask

from ..http.openapi import Api
from . import account, assistance_pages, batch_pages, case_pages, catalog_pages, clerk, credit_pages, disclosure_pages, public
from . import signing_pages, statistics_pages, template_pages, verify_pages


def init_app(app: Flask, docs: Api) -> None:
    """``docs``: the public page a QR code opens is part of the documented HTTP contract."""
    docs.register_blueprint(public.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(verify_pages.bp)
    app.register_blueprint(signing_pages.bp)
    app.register_blueprint(clerk.bp)
    app.register_blueprint(catalog_pages.bp)
    app.register_blueprint(case_pages.bp)
    app.register_blueprint(assistance_pages.bp)
    app.register_blueprint(statistics_pages.bp)
    app.register_blueprint(credit_pages.bp)
    app.register_blueprint(disclosure_pages.bp)
    app.register_blueprint(batch_pages.bp)
    app.register_blueprint(template_pages.bp)
