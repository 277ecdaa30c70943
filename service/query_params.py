"""Query parameters of the lists (documents, cases), read with bounds: each bad one is named in ``errors`` with a
bilingual message, so the caller answers 400 listing them all, never a database error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .errors import bilingual

EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
MAX_PAGE = 100_000


def whole_number(args: Mapping[str, str], name: str, low: int, high: int, errors: dict[str, list[str]], *,
                 default: int | None = None, unit: tuple[str, str] = ("", "")) -> int | None:
    """``args[name]`` as a whole number from ``low`` to ``high``; ``default`` when absent."""
    raw = args.get(name) or ""
    if not raw:
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)) else low - 1
    if not low <= value <= high:
        errors[name] = [bilingual(f"应为 {low}–{high} 的整数{unit[0]}", f"must be a whole number{unit[1]} from {low} to {high}")]
        return default
    return value


def page(args: Mapping[str, str], errors: dict[str, list[str]]) -> int:
    return whole_number(args, "page", 1, MAX_PAGE, errors, default=1) or 1


def date_bound(args: Mapping[str, str], name: str, errors: dict[str, list[str]]) -> dt.date | None:
    """``args[name]`` as a date (YYYY-MM-DD) between 2000 and 2099, or None when absent."""
    raw = args.get(name) or ""
    if not raw:
        return None
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = [bilingual("日期格式应为 YYYY-MM-DD", "a date must be given as YYYY-MM-DD")]
        return None
    if not EARLIEST <= value <= LATEST:
        errors[name] = [bilingual(f"日期应在 {EARLIEST} 至 {LATEST} 之间", f"the date must lie between {EARLIEST} and {LATEST}")]
        return None
    return value
