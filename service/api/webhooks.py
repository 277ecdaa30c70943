"""/api/v1/webhooks: a calling system's webhooks and their delivery log. The secret is returned once."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..auth.http import require_principal
from ..http.openapi import Blueprint
from ..registry.webhooks import Webhook
from ..runtime import Services
from ..webhooks import subscriptions
from .schemas import (
    DeliveryPageSchema,
    NewWebhookSchema,
    PageQuerySchema,
    WebhookListSchema,
    WebhookRequestSchema,
)

bp = Blueprint("webhooks_api", __name__, url_prefix="/api/v1/webhooks",
               description="webhooks: a calling system's documents' events, POSTed and signed (API keys only)")


def services() -> Services:
    return current_app.extensions["chengnuo"]


@bp.post("")
@bp.arguments(WebhookRequestSchema)
@bp.response(201, NewWebhookSchema, description="created; the secret is in the answer, once")
@bp.errors((409, "the key has as many webhooks as it may"), (422, "a bad URL or an unknown event"))
def create(body: dict[str, Any]) -> tuple[tuple[Webhook, str], int]:
    """Register a webhook for this key."""
    return subscriptions.create_webhook(services(), require_principal(), body["url"], body["events"]), 201


@bp.get("")
@bp.response(200, WebhookListSchema, description="this key's webhooks (never their secrets)")
def list_webhooks() -> dict[str, list[Webhook]]:
    """This key's webhooks."""
    return {"webhooks": subscriptions.list_webhooks(services(), require_principal())}


@bp.delete("/<webhook_id>")
@bp.response(204, description="deleted; its pending deliveries are cancelled")
@bp.errors((404, "unknown webhook, or another key's"))
def delete(webhook_id: str) -> None:
    """Delete one of this key's webhooks."""
    subscriptions.delete_webhook(services(), require_principal(), webhook_id)


@bp.get("/<webhook_id>/deliveries")
@bp.arguments(PageQuerySchema, location="query", error_status_code=400)
@bp.response(200, DeliveryPageSchema, description="the delivery log, newest first, each delivery with its attempts")
@bp.errors((400, "page or per_page out of range"), (404, "unknown webhook, or another key's"))
def deliveries(query: dict[str, int], webhook_id: str) -> subscriptions.DeliveryPage:
    """The webhook's delivery log."""
    return subscriptions.list_deliveries(services(), require_principal(), webhook_id, page=query["page"], per_page=query["per_page"])
