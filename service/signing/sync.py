"""pyHanko's work is asynchronous; the service's threads are not. Run a coroutine to completion from
any thread, also one that already runs an event loop (where ``asyncio.run`` refuses)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
_SPARE = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="pyhanko-loop")


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    return _SPARE.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]
