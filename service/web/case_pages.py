"""The case pages (being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("case_pages", __name__, template_folder="templates")
