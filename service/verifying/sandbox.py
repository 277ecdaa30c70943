"""Hostile uploads are parsed in worker processes with a time and a memory limit.

A PDF can be built to make a parser recurse, inflate or loop; in a worker that may cost at most
``timeout`` seconds and ``memory_mb`` of address space, after which the worker is killed and
replaced, and the upload is refused as unusable. The service's own process never parses an upload.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from pebble import ProcessExpired, ProcessPool

from ..errors import UnusablePdf
from .analysis import PdfAnalysis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxSettings:
    workers: int = 2
    timeout: float = 20.0
    memory_mb: int = 1536
    max_tasks: int = 500  # recycle a worker after this many files


def _limit_memory(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from . import analysis  # noqa: F401 - import pyHanko once per worker, not on its first upload


def _analyse(pdf: bytes, trust_roots: list[str]) -> tuple:
    from .analysis import analyse

    try:
        return ("ok", analyse(pdf, trust_roots))
    except UnusablePdf as exc:
        return ("unusable", exc.code, exc.zh, exc.en)
    except MemoryError:
        return ("unusable", "pdf_too_complex", "PDF 文件过于复杂，无法核验", "the PDF is too complex to be checked")


class VerificationSandbox:
    """``task`` is what a worker runs on an upload (``analyse`` behind an error-to-tuple wrapper); tests
    substitute a slow one to prove the time limit."""

    def __init__(self, settings: SandboxSettings, trust_roots: list[str], task: Callable[[bytes, list[str]], tuple] | None = None) -> None:
        self.settings = settings
        self.trust_roots = trust_roots
        self.task = task or _analyse
        self._pool: ProcessPool | None = None
        self._lock = threading.Lock()

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

    def analyse(self, pdf: bytes) -> PdfAnalysis:
        """Raises UnusablePdf (including for files that take too long or too much memory)."""
        future = self._ensure_pool().schedule(self.task, args=[pdf, self.trust_roots], timeout=self.settings.timeout)
        try:
            result = future.result()
        except FutureTimeout:
            log.warning("verification of a %d-byte upload timed out", len(pdf))
            raise UnusablePdf("核验超时：文件过于复杂", f"verification took longer than {self.settings.timeout:.0f} s: the file is too complex",
                              code="verification_timeout") from None
        except ProcessExpired:
            log.warning("verification worker died on a %d-byte upload", len(pdf))
            raise UnusablePdf("PDF 文件过于复杂，无法核验", "the PDF is too complex to be checked", code="pdf_too_complex") from None
        if result[0] == "ok":
            return result[1]
        _, code, zh, en = result
        raise UnusablePdf(zh, en, code=code)

    def stop(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join(timeout=10)
                self._pool = None
