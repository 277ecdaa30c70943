"""Reading a JSON request body safely: malformed, too deeply nested (which would exhaust Python's
recursion) or not the expected shape is a 400, never a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from ..errors import InvalidRequest

MAX_DEPTH = 32


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def json_body() -> Any:
    """The parsed body; raises InvalidRequest (400) for anything that is not reasonable JSON."""
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise InvalidRequest("请求体不是有效的 JSON", "the request body is not valid JSON", code="invalid_json") from None
    if _too_deep(body):
        raise InvalidRequest(f"JSON 嵌套超过 {MAX_DEPTH} 层", f"the JSON is nested deeper than {MAX_DEPTH} levels", code="invalid_json")
    return body
