"""Cases: /api/v1/cases (being written)."""

from __future__ import annotations

from ..http.openapi import Blueprint

bp = Blueprint("cases_api", __name__, url_prefix="/api/v1/cases", description="cases (办件) and their procedure")
