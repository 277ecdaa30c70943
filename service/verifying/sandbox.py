"""Hostile uploads are parsed in worker processes with a time and a memory limit.

A PDF can be built to make a parser recurse, inflate or loop; in a worker that may cost at most
``timeout`` seconds and ``memory_mb`` of address space, after which the worker is killed and
replaced, and the upload is refused as unusable. The service's own process never parses an upload.

Verifications have their own bounded concurrency: as many run as there are workers, ``queue_limit``
more may wait, and beyond that an upload is refused at once (ServiceBusy, 503 with Retry-After)
rather than holding one of the server's threads, which issuing, the pages and /healthz need. The
time limit counts from when the request arrived (``deadline``), waiting included.

What the library logs in a worker (pyHanko logs a traceback for each signature it cannot validate:
thousands for a crafted file) is collected there and comes back as one summary line per upload.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from pebble import ProcessExpired, ProcessPool

from ..errors import ServiceBusy, UnusablePdf
from .analysis import PdfAnalysis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxSettings:
    workers: int = 2
    timeout: float = 20.0
    memory_mb: int = 1536
    max_tasks: int = 500  # recycle a worker after this many files
    queue_limit: int = 2  # uploads that may wait for a worker; beyond, ServiceBusy at once


class _Collected(logging.Handler):
    """A worker's log records, kept (without tracebacks) until the upload's summary is made."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{record.name}: {record.getMessage()}"[:300]

    def summary(self) -> str:
        summary = f"{self.count} library warning(s), first: {self.first}" if self.count else ""
        self.count, self.first = 0, None
        return summary


_collected = _Collected()


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    logging.getLogger().handlers[:] = [_collected]
    logging.getLogger().setLevel(logging.WARNING)
    from . import analysis  # noqa: F401 - import pyHanko once per worker, not on its first upload


def _analyse(pdf: bytes, trust_roots: list[str], now: dt.datetime) -> tuple:
    """Runs in a worker: ``("ok", analysis, log summary)`` or ``("unusable", code, zh, en, log summary)``."""
    from .analysis import analyse

    try:
        return ("ok", analyse(pdf, trust_roots, now), _collected.summary())
    except UnusablePdf as exc:
        return ("unusable", exc.code, exc.zh, exc.en, _collected.summary())
    except MemoryError:
        return ("unusable", "pdf_too_complex", "PDF 文件过于复杂，无法核验", "the PDF is too complex to be checked", _collected.summary())


class VerificationSandbox:
    """``task`` is what a worker runs on an upload (``analyse`` behind an error-to-tuple wrapper); tests
    substitute a slow one to prove the time limit."""

    def __init__(self, settings: SandboxSettings, trust_roots: list[str], task: Callable[[bytes, list[str], dt.datetime], tuple] | None = None) -> None:
        self.settings = settings
        self.trust_roots = trust_roots
        self.task = task or _analyse
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(settings.workers)
        self._admitted = 0  # running and waiting

    def _ensure_pool(self) -> ProcessPool:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPool(
                    max_workers=self.settings.workers,
                    max_tasks=self.settings.max_tasks,
                    initializer=_limit_memory,
                    initargs=[self.settings.memory_mb],
                    context=multiprocessing.get_context("forkserver"),
                )
            return self._pool

    def start(self) -> None:
        self._ensure_pool()

    def analyse(self, pdf: bytes, started: float | None = None, now: dt.datetime | None = None) -> tuple[PdfAnalysis, str]:
        """The analysis as of ``now`` (the service's clock; default: the system's) and a summary of what the library
        logged, within ``timeout`` of ``started`` (time.monotonic() when the request arrived; default: now). Raises ServiceBusy (every worker busy and the queue full, or no
        worker free in time) or UnusablePdf (including for files that take too long or too much memory)."""
        deadline = (started if started is not None else time.monotonic()) + self.settings.timeout
        with self._lock:
            if self._admitted >= self.settings.workers + self.settings.queue_limit:
                raise ServiceBusy("核验繁忙，请稍后重试", "every verification worker is busy; retry shortly", code="verification_busy")
            self._admitted += 1
        try:
            if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise ServiceBusy("核验繁忙，排队超时，请稍后重试", "no verification worker became free in time; retry shortly",
                                  code="verification_busy")
            try:
                return self._run(pdf, max(0.1, deadline - time.monotonic()), now or dt.datetime.now(dt.UTC))
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._admitted -= 1

    def _run(self, pdf: bytes, timeout: float, now: dt.datetime) -> tuple[PdfAnalysis, str]:
        future = self._ensure_pool().schedule(self.task, args=[pdf, self.trust_roots, now], timeout=timeout)
        try:
            result = future.result()
        except FutureTimeout:
            raise UnusablePdf("核验超时：文件过于复杂", f"verification took longer than {self.settings.timeout:.0f} s: the file is too complex",
                              code="verification_timeout") from None
        except ProcessExpired:
            raise UnusablePdf("PDF 文件过于复杂，无法核验", "the PDF is too complex to be checked", code="pdf_too_complex") from None
        if result[0] == "ok":
            return result[1], result[2]
        _, code, zh, en, notes = result
        raise UnusablePdf(zh, en, code=code, notes=notes)

    def stop(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join(timeout=10)
                self._pool = None
