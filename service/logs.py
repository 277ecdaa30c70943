"""Logging with the request id on every line, so a client's X-Request-ID finds its server-side story."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from .masking import scrub

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_request_id(offered: str | None = None) -> str:
    """Keeps a caller's well-formed X-Request-ID, else makes one."""
    if offered and _ACCEPTABLE_ID.match(offered):
        return offered
    return uuid.uuid4().hex


_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


class ScrubbingFormatter(logging.Formatter):
    """No log line carries an unmasked ID or mobile number, whatever a message or traceback contains."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    """Every log record carries ``request_id``; the handler prints it."""
    if logging.getLogRecordFactory() is not _record_with_request_id:
        logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    if any(getattr(h, "_chengnuo", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler()
    handler._chengnuo = True  # type: ignore[attr-defined]
    handler.setFormatter(ScrubbingFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
