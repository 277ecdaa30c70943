"""DOCX → PDF through a pool of warm LibreOffice processes.

Each worker is ``worker.py`` with its own LibreOffice and profile, in its own process group.
The pool hands one document at a time to an idle worker, bounds every conversion by a timeout,
kills and replaces a worker that hangs or dies (only the document it held fails), recycles a
worker after ``max_jobs`` conversions (LibreOffice slows and grows over its first hundred or so) —
but not while another worker is being replaced, so that workers that reached the limit together do
not all restart at once and leave requests without a converter — and refuses work beyond ``queue_limit`` waiting requests instead of letting them pile up.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from ..errors import ConversionError, ConversionTimeout, ConverterBusy
from . import fontset
from .priority import foreground_active, is_background

log = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
BACKGROUND_WAIT = 120.0  # seconds batch work waits for a converter before its message is retried later
RECYCLE_DEFERRAL = 100  # conversions a worker due for recycling may go on while another restarts
T = TypeVar("T")


@dataclass(frozen=True)
class PoolSettings:
    size: int = 2
    timeout: float = 60.0  # seconds for one document
    start_timeout: float = 60.0
    max_jobs: int = 200  # recycle a worker after this many conversions
    queue_limit: int = 16  # requests allowed to wait for a worker
    queue_wait: float = 10.0  # longest a request waits for a worker
    uno_python: str = "/usr/bin/python3"
    soffice: str = "soffice"
    font_set_dir: str = ""  # where the font set (fontset.py) is kept, built on start if missing; "": none
    fontconfig_file: str = ""  # the fontconfig file LibreOffice gets; "": the font set's, else the system's


@dataclass(frozen=True)
class Part:
    """One document of a file holding several (see :meth:`ConverterPool.convert_parts`): the bookmarks at the
    start and at the end of its body, and the suffix its own bookmark names carry in the file."""

    start: str
    end: str
    suffix: str = ""


class _Worker:
    """The pool's handle on one ``worker.py`` process."""

    def __init__(self, settings: PoolSettings, root: Path, index: int) -> None:
        self.index = index
        self.settings = settings
        self.dir = root / f"worker-{index}-{uuid.uuid4().hex[:8]}"
        self.dir.mkdir(parents=True)
        self.jobs = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.soffice_pid: int | None = None

    def start(self) -> None:
        pipe = f"chengnuo_{os.getpid()}_{self.dir.name}"
        self.process = subprocess.Popen(
            [
                self.settings.uno_python,
                str(WORKER_SCRIPT),
                "--soffice",
                self.settings.soffice,
                "--profile",
                str(self.dir / "profile"),
                "--pipe",
                pipe,
                "--start-timeout",
                str(self.settings.start_timeout),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=self._environment(),
        )
        reply = self._read(self.settings.start_timeout + 5)
        if not reply.get("ready"):
            self.kill()
            raise ConversionError(
                "文档转换服务无法启动", f"LibreOffice worker did not start: {reply.get('error', 'no reply')}"
            )
        self.soffice_pid = reply.get("soffice_pid")
        log.info("converter worker %s ready (LibreOffice pid %s)", self.index, self.soffice_pid)

    def _environment(self) -> dict[str, str]:
        env = {**os.environ, "HOME": str(self.dir)}
        if self.settings.fontconfig_file:
            env["FONTCONFIG_FILE"] = self.settings.fontconfig_file
        return env

    def _read(self, timeout: float) -> dict:
        assert self.process and self.process.stdout
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            raise ConversionTimeout("文档转换超时", f"LibreOffice did not answer within {timeout:.0f} s")
        line = self.process.stdout.readline()
        if not line:
            raise ConversionError("文档转换进程意外退出", "the LibreOffice worker exited unexpectedly")
        return json.loads(line)

    def convert(self, docx: bytes) -> bytes:
        assert self.process and self.process.stdin
        job = uuid.uuid4().hex
        source, target = self.dir / f"{job}.docx", self.dir / f"{job}.pdf"
        source.write_bytes(docx)
        try:
            self.process.stdin.write((json.dumps({"in": str(source), "out": str(target)}) + "\n").encode())
            self.process.stdin.flush()
            reply = self._read(self.settings.timeout)
            self.jobs += 1
            if not reply.get("ok"):
                raise ConversionError("文档转换失败", f"LibreOffice could not convert the document: {reply.get('error')}")
            return target.read_bytes()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise ConversionError("文档转换进程不可用", "the LibreOffice worker is not usable") from exc
        finally:
            source.unlink(missing_ok=True)
            target.unlink(missing_ok=True)

    def convert_parts(self, docx: bytes, parts: Sequence[Part]) -> list[bytes | None]:
        """The PDF of each part of ``docx`` (worker.py's ``parts`` request), None for a part LibreOffice skipped."""
        assert self.process and self.process.stdin
        job = uuid.uuid4().hex
        source = self.dir / f"{job}.docx"
        targets = [self.dir / f"{job}-{i}.pdf" for i in range(len(parts))]
        source.write_bytes(docx)
        request = {"in": str(source), "parts": [{"out": str(target), "start": part.start, "end": part.end, "suffix": part.suffix}
                                                for part, target in zip(parts, targets)]}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            reply = self._read(self.settings.timeout)
            self.jobs += 1
            if not reply.get("ok"):
                raise ConversionError("文档转换失败", f"LibreOffice could not convert the document: {reply.get('error')}")
            done = reply.get("parts") or []
            if len(done) != len(parts):
                raise ConversionError("文档转换失败", f"LibreOffice answered for {len(done)} of {len(parts)} parts")
            return [target.read_bytes() if "pages" in answer else None for answer, target in zip(done, targets)]
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise ConversionError("文档转换进程不可用", "the LibreOffice worker is not usable") from exc
        finally:
            source.unlink(missing_ok=True)
            for target in targets:
                target.unlink(missing_ok=True)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                if stream:
                    stream.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop(self) -> None:
        """Asks the worker to end (closing its stdin), then makes sure the whole group is gone."""
        if self.process is not None and self.process.poll() is None and self.process.stdin:
            try:
                self.process.stdin.close()
                self.process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()


class ConverterPool:
    """Thread-safe: any number of request threads may call :meth:`convert` at once."""

    def __init__(self, settings: PoolSettings, workdir: Path | None = None) -> None:
        self.settings = settings
        self._root = Path(tempfile.mkdtemp(prefix="chengnuo-lo-", dir=workdir))
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._waiting = 0
        self._started = False
        self._stopping = False
        self._next_index = 0
        self._replacing = 0  # workers stopped and not yet succeeded by a running one
        self._replacements: set[threading.Thread] = set()
        self._background = 0  # background (batch) conversions holding or awaiting a worker
        self.most_replacing = 0  # the most at once, ever: recycling keeps it at 1 when no worker fails
        self.restarts = 0
        self.conversions = 0
        self.failures = 0

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Starts every worker (in parallel); raises ConversionError if none comes up."""
        with self._lock:
            if self._started:
                return
            self._started = True
        if self.settings.font_set_dir and not self.settings.fontconfig_file:
            config = fontset.ensure(Path(self.settings.font_set_dir))
            self.settings = replace(self.settings, fontconfig_file=str(config or ""))
        errors: list[Exception] = []
        threads = [threading.Thread(target=self._spawn_into_pool, args=(errors,)) for _ in range(self.settings.size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors and self._idle.qsize() == 0:
            self._started = False
            raise errors[0]

    def _new_worker(self) -> _Worker:
        with self._lock:
            index = self._next_index
            self._next_index += 1
        worker = _Worker(self.settings, self._root, index)
        worker.start()
        with self._lock:
            self._workers.add(worker)
        return worker

    def _spawn_into_pool(self, errors: list[Exception] | None = None) -> None:
        try:
            worker = self._new_worker()
        except Exception as exc:  # noqa: BLE001 - recorded and logged; the pool keeps its other workers
            log.error("converter worker failed to start: %s", exc)
            if errors is not None:
                errors.append(exc)
            return
        if self._stopping:
            worker.stop()
            return
        self._idle.put(worker)

    def _replace(self, worker: _Worker, reason: str, *, counted: bool = False) -> None:
        """Kills ``worker`` and starts its successor in the background (``counted``: the caller has
        already added it to the workers being replaced)."""
        with self._lock:
            self._workers.discard(worker)
            self.restarts += 1
            if not counted:
                self._replacing += 1
            self.most_replacing = max(self.most_replacing, self._replacing)
        log.warning("restarting converter worker %s: %s", worker.index, reason)

        def run() -> None:
            try:
                worker.stop() if reason == "recycled" else worker.kill()
                delay = 1.0
                while not self._stopping:
                    errors: list[Exception] = []
                    self._spawn_into_pool(errors)
                    if not errors:
                        return
                    time.sleep(delay)
                    delay = min(delay * 2, 30.0)
            finally:
                with self._lock:
                    self._replacing -= 1
                    self._replacements.discard(threading.current_thread())

        thread = threading.Thread(target=run, name=f"converter-restart-{worker.index}", daemon=True)
        with self._lock:
            self._replacements.add(thread)
        thread.start()

    def stop(self) -> None:
        """Stops every worker, waiting for those being started, which stop as soon as they are up."""
        self._stopping = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
            replacements = list(self._replacements)
        for worker in workers:
            worker.stop()
        for thread in replacements:
            thread.join(self.settings.start_timeout + 15)
        shutil.rmtree(self._root, ignore_errors=True)

    # --- work -----------------------------------------------------------------------------------

    def convert(self, docx: bytes) -> bytes:
        """DOCX bytes → PDF bytes.

        Raises ConverterBusy when the queue is full or no worker frees up in time, ConversionTimeout
        when LibreOffice takes too long, ConversionError when it fails.
        """
        return self._with_worker(lambda worker: worker.convert(docx))

    def convert_parts(self, docx: bytes, parts: Sequence[Part]) -> list[bytes | None]:
        """The PDF of each of several documents held by one DOCX, from one LibreOffice load: ``parts`` says where each
        lies (its start and end bookmarks, see worker.py). Each PDF is exported with the pages of its part only, so
        LibreOffice subsets its fonts and pictures to them; references to an end bookmark (a document's page total)
        are exported as plain text, and a part's own bookmarks (``<name><suffix>``) as named destinations
        ``<name>``. None for a part whose layout did not stay within its own pages (convert that document alone).

        Waits for a worker as :meth:`convert` does (batch work in ``priority.background`` gives way to requests).
        Raises ConverterBusy, ConversionTimeout (the pool's timeout bounds the whole load and every export) and
        ConversionError.
        """
        return self._with_worker(lambda worker: worker.convert_parts(docx, parts))

    def _with_worker(self, job: Callable[[_Worker], T]) -> T:
        """``job`` on a worker: a request waits in the bounded queue, batch work (``priority.background``) gives way."""
        self.start()
        if is_background():
            return self._in_background(lambda worker: self._run_with(worker, lambda: job(worker)))
        with self._lock:
            if self._waiting >= self.settings.queue_limit:
                raise ConverterBusy("文档转换繁忙，请稍后重试", "all converters are busy and the queue is full; retry later")
            self._waiting += 1
        try:
            worker = self._acquire(time.monotonic() + self.settings.queue_wait)
        finally:
            with self._lock:
                self._waiting -= 1
        return self._run_with(worker, lambda: job(worker))

    def _in_background(self, job: Callable[[_Worker], T]) -> T:
        """Batch work (``priority.background``): a worker only while no request waits for one, and, while a request is
        in flight, not the last one. Raises ConverterBusy if none comes free within ``BACKGROUND_WAIT``."""
        deadline = time.monotonic() + max(self.settings.queue_wait, BACKGROUND_WAIT)
        while True:
            share = max(1, self.settings.size - 1) if foreground_active() else self.settings.size
            with self._lock:
                if self._waiting == 0 and self._background < share:
                    self._background += 1
                    break
            if time.monotonic() > deadline:
                raise ConverterBusy("文档转换繁忙，请稍后重试", "no converter became free for batch work in time; retry later")
            time.sleep(0.01)
        try:
            return job(self._acquire(deadline))
        finally:
            with self._lock:
                self._background -= 1

    def _run_with(self, worker: _Worker, job: Callable[[], T]) -> T:
        """``job`` on ``worker``; the worker is then put back, recycled or (dead or hung) replaced."""
        healthy = True
        try:
            result = job()
            self.conversions += 1
            return result
        except ConversionError as exc:
            self.failures += 1
            healthy = worker.alive and not isinstance(exc, ConversionTimeout)
            if not healthy:
                self._replace(worker, f"{exc.code}: {exc.en}")
            raise
        finally:
            if healthy:
                if self._due_for_recycling(worker):
                    self._replace(worker, "recycled", counted=True)
                else:
                    self._idle.put(worker)

    def _due_for_recycling(self, worker: _Worker) -> bool:
        """Past ``max_jobs``, and no other worker is being replaced (or past the deferral's end, should
        replacements keep failing). If so, the worker is counted as being replaced at once, in the same
        lock as the check."""
        limit = self.settings.max_jobs
        if worker.jobs < limit:
            return False
        with self._lock:
            if self._replacing and worker.jobs < limit + max(limit, RECYCLE_DEFERRAL):
                return False
            self._replacing += 1
            return True

    def _acquire(self, deadline: float) -> _Worker:
        """An idle, living worker; one that died while idle is replaced, never handed a document."""
        while True:
            try:
                worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise ConverterBusy("文档转换繁忙，请稍后重试", "no converter became free in time; retry later") from None
            if worker.alive:
                return worker
            self._replace(worker, "died while idle")

    def status(self) -> dict:
        with self._lock:
            workers = len(self._workers)
            waiting = self._waiting
        return {
            "workers": workers,
            "idle": self._idle.qsize(),
            "waiting": waiting,
            "background": self._background,
            "size": self.settings.size,
            "conversions": self.conversions,
            "failures": self.failures,
            "restarts": self.restarts,
            "started": self._started,
        }
