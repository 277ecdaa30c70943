"""Whose conversion goes first: a window's request, then batch work.

Batch workers run their conversions inside ``background()``. The pool then gives them a converter only while no
request is waiting for one, and never all of its converters at once (when it has more than one), so that a clerk's
document does not queue behind a campaign of thousands.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_background = contextvars.ContextVar("chengnuo_background_conversion", default=False)


@contextlib.contextmanager
def background() -> Iterator[None]:
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def is_background() -> bool:
    return _background.get()
