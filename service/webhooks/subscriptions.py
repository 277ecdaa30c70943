"""A calling system's webhooks: made, listed and deleted by the API key that owns them, with their delivery log.

The secret is made here, returned once, and stored only sealed (``secretbox.py``); listings, the log and the
audit trail never carry it. Another key's webhook is reported as not found, so that its existence is not
revealed. Making and deleting a webhook is audited.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..auth.principal import Principal, authorize_webhooks
from ..errors import Conflict, InvalidData, InvalidRequest, bilingual
from ..registry.webhooks import Delivery, Webhook
from .events import unknown_event

if TYPE_CHECKING:
    from ..runtime import Services

log = logging.getLogger(__name__)

MAX_WEBHOOKS = 20  # per key
MAX_URL = 2000
MAX_PER_PAGE = 100
MAX_PAGE = 10_000


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[Delivery]
    page: int
    per_page: int
    total: int


def url_problem(url: str) -> str | None:
    """A bilingual problem with ``url`` as a webhook's address, or None: an absolute http(s) URL with a host,
    without credentials (the signature proves the sender) or a fragment."""
    if len(url) > MAX_URL:
        return bilingual(f"网址不能超过 {MAX_URL} 个字符", f"the URL may be at most {MAX_URL} characters long")
    if not url.isprintable() or any(c.isspace() for c in url):
        return bilingual("网址不能含空白或控制字符", "the URL may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return bilingual("网址格式无效", "the URL is malformed")
    if parts.scheme.lower() not in ("http", "https"):
        return bilingual("网址须以 http:// 或 https:// 开头", "the URL must start with http:// or https://")
    if not parts.hostname:
        return bilingual("网址须包含主机名", "the URL must name a host")
    if parts.username is not None or parts.password is not None:
        return bilingual("网址不能包含用户名或密码（请用签名验证发送方）",
                         "the URL may not contain a user name or password (verify the signature instead)")
    if parts.fragment or url.endswith("#"):
        return bilingual("网址不能包含 # 片段", "the URL may not contain a #fragment")
    return None


def _checked(url: object, events: object) -> tuple[str, list[str]]:
    """The URL and the events, de-duplicated in order; raises InvalidData naming every bad field."""
    errors: dict[str, list[str]] = {}
    if not isinstance(url, str):
        errors["url"] = [bilingual("应为文本", "must be a string")]
    elif problem := url_problem(url):
        errors["url"] = [problem]
    names: list[str] = []
    if not isinstance(events, Sequence) or isinstance(events, str) or not events:
        errors["events"] = [bilingual("应为至少含一个事件名的列表", "must be a list of at least one event name")]
    else:
        for index, name in enumerate(events):
            problem = unknown_event(name) if isinstance(name, str) else bilingual("应为文本", "must be a string")
            if problem:
                errors[f"events.{index}"] = [problem]
            elif name not in names:
                names.append(name)
    if errors:
        raise InvalidData(errors)
    return url, names  # type: ignore[return-value]


def _redacted(url: str) -> str:
    """The URL for the audit trail: a query string may hold the receiver's own token, so it is left out."""
    parts = urlsplit(url)
    return parts._replace(query="…" if parts.query else "", fragment="").geturl()


def create_webhook(services: Services, principal: Principal, url: object, events: object) -> tuple[Webhook, str]:
    """The new webhook and its secret, to show this once. Raises Forbidden (not an API key), InvalidData (URL,
    events) or Conflict (the key has ``MAX_WEBHOOKS`` already)."""
    authorize_webhooks(principal)
    url, names = _checked(url, events)
    if len(services.webhooks.owned(principal.id)) >= MAX_WEBHOOKS:
        raise Conflict(f"每个 API 密钥最多可设 {MAX_WEBHOOKS} 个 Webhook，请先删除不用的",
                       f"a key may have at most {MAX_WEBHOOKS} webhooks; delete one first", code="too_many_webhooks")
    webhook_id = f"wh_{secrets.token_hex(8)}"
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    webhook = services.webhooks.create(webhook_id=webhook_id, owner=principal.id, url=url, events=names,
                                       sealed_secret=services.webhook_secrets.seal(secret, webhook_id), now=services.now())
    services.audit.record(actor=principal.actor, action="webhook.add", object=f"webhook:{webhook.id}", outcome="success",
                          detail={"url": _redacted(url), "events": names})
    log.info("webhook %s added by key %s for %s", webhook.id, principal.id, ", ".join(names))
    return webhook, secret


def list_webhooks(services: Services, principal: Principal) -> list[Webhook]:
    """The caller's own active webhooks (never their secrets). Raises Forbidden (not an API key)."""
    authorize_webhooks(principal)
    return services.webhooks.owned(principal.id)


def delete_webhook(services: Services, principal: Principal, webhook_id: str) -> Webhook:
    """Stops the caller's webhook; its pending deliveries are cancelled, its log kept until it is pruned.
    Raises Forbidden (not an API key) or NotFound (unknown, already deleted, or another key's)."""
    authorize_webhooks(principal)
    webhook = services.webhooks.disable(principal.id, webhook_id, services.now())
    services.audit.record(actor=principal.actor, action="webhook.delete", object=f"webhook:{webhook.id}", outcome="success",
                          detail={"url": _redacted(webhook.url), "events": list(webhook.events)})
    log.info("webhook %s deleted by key %s", webhook.id, principal.id)
    return webhook


def list_deliveries(services: Services, principal: Principal, webhook_id: str, *, page: int = 1, per_page: int = 20) -> DeliveryPage:
    """A page of the webhook's delivery log, newest first. Raises Forbidden, NotFound (as ``delete_webhook``) or
    InvalidRequest (a page or page size out of range)."""
    authorize_webhooks(principal)
    errors: dict[str, list[str]] = {}
    if not 1 <= page <= MAX_PAGE:
        errors["page"] = [bilingual(f"页码应为 1–{MAX_PAGE}", f"the page must be from 1 to {MAX_PAGE}")]
    if not 1 <= per_page <= MAX_PER_PAGE:
        errors["per_page"] = [bilingual(f"每页条数应为 1–{MAX_PER_PAGE}", f"per_page must be from 1 to {MAX_PER_PAGE}")]
    if errors:
        raise InvalidRequest("分页参数有误", "the paging parameters are invalid", code="invalid_query", errors=errors)
    deliveries, total = services.webhooks.deliveries(principal.id, webhook_id, page=page, per_page=per_page)
    return DeliveryPage(deliveries, page, per_page, total)
