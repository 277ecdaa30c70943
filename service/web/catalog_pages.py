"""The item catalogue's pages (being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog_pages", __name__, template_folder="templates")
