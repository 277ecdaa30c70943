"""Whose work goes first in a process: a window's request, then batch work.

Window requests run inside ``foreground()`` (issuing does it), batch workers inside ``background()``. Between the
stages of a batch row (``give_way``) a batch thread waits while any window request is in flight, so that the CPU —
two cores, one interpreter — is the clerk's first; and in the converter pool batch work takes a LibreOffice only
while no request waits for one, and not the last free one while a request is in flight. A campaign of thousands
of letters then costs a window request at most the stage a batch row is in when it arrives.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

GIVE_WAY_LIMIT = 5.0  # seconds a batch thread waits at most at one stage (a steady stream of requests must not starve it)

_background = contextvars.ContextVar("chengnuo_background_work", default=False)
_quiet = threading.Condition()
_in_flight = 0


@contextlib.contextmanager
def background() -> Iterator[None]:
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def is_background() -> bool:
    return _background.get()


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """A window request in flight (nothing happens inside batch work)."""
    global _in_flight
    if is_background():
        yield
        return
    with _quiet:
        _in_flight += 1
    try:
        yield
    finally:
        with _quiet:
            _in_flight -= 1
            if _in_flight == 0:
                _quiet.notify_all()


def foreground_active() -> bool:
    return _in_flight > 0


def give_way(limit: float = GIVE_WAY_LIMIT) -> None:
    """In batch work: waits (up to ``limit`` seconds) until no window request is in flight. Elsewhere: returns at once."""
    if not is_background():
        return
    with _quiet:
        _quiet.wait_for(lambda: _in_flight == 0, timeout=limit)
