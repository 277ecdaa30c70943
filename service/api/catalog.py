"""The item catalogue: /api/v1/catalog/items (being written)."""

from __future__ import annotations

from ..http.openapi import Blueprint

bp = Blueprint("catalog_api", __name__, url_prefix="/api/v1/catalog", description="the agency's item catalogue (versioned)")
