"""The LibreOffice pool under failure: death, hangs, a full queue, recycling. Real LibreOffice throughout."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from service.config import load_settings
from service.errors import ConversionTimeout, ConverterBusy
from service.converting.pool import ConverterPool
from service.runtime import pool_settings

from .conftest import ROOT


@pytest.fixture(scope="module")
def docx() -> bytes:
    return (ROOT / "templates" / "liaison-form.docx").read_bytes()


def small_pool(**overrides) -> ConverterPool:
    settings = pool_settings(load_settings(environ={}, converter_workers=1))
    from dataclasses import replace

    pool = ConverterPool(replace(settings, **overrides))
    pool.start()
    return pool


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def the_worker(pool: ConverterPool):
    return next(iter(pool._workers))


def office_pids(worker) -> list[int]:
    """LibreOffice's processes (oosplash, soffice.bin): the worker's process group, less the worker itself."""
    group = worker.process.pid
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != group:
            try:
                if os.getpgid(int(entry)) == group:
                    pids.append(int(entry))
            except ProcessLookupError:
                pass
    return pids


def signal_office(worker, signum: int) -> list[int]:
    pids = office_pids(worker)
    assert pids, "LibreOffice is not running"
    for pid in pids:
        os.kill(pid, signum)
    return pids


def test_a_libreoffice_that_dies_while_idle_is_replaced_without_failing_a_document(docx):
    pool = small_pool()
    try:
        first = the_worker(pool)
        signal_office(first, signal.SIGKILL)
        wait_for(lambda: not first.alive)
        assert pool.convert(docx).startswith(b"%PDF-")
        assert pool.status()["restarts"] == 1 and pool.status()["failures"] == 0
    finally:
        pool.stop()


def test_a_hung_libreoffice_times_out_and_is_replaced(docx):
    pool = small_pool(timeout=3.0)
    try:
        hung = the_worker(pool)
        hung_pids = signal_office(hung, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(ConversionTimeout):
            pool.convert(docx)
        assert time.monotonic() - started < 10
        assert pool.convert(docx).startswith(b"%PDF-")  # its successor serves the next document
        assert pool.status()["restarts"] == 1
        for pid in hung_pids:  # the hung processes are gone
            wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 5)
    finally:
        pool.stop()


def test_past_the_queue_limit_a_request_is_refused_at_once(docx):
    pool = small_pool(timeout=5.0, queue_limit=1, queue_wait=2.0)
    try:
        signal_office(the_worker(pool), signal.SIGSTOP)
        holder_result: list[Exception | None] = []
        holder = threading.Thread(target=lambda: holder_result.append(_capture(pool.convert, docx)))
        holder.start()
        wait_for(lambda: pool.status()["idle"] == 0)
        waiter_result: list[Exception] = []
        waiter = threading.Thread(target=lambda: waiter_result.append(_capture(pool.convert, docx)))
        waiter.start()
        wait_for(lambda: pool.status()["waiting"] == 1)
        started = time.monotonic()
        with pytest.raises(ConverterBusy):
            pool.convert(docx)
        assert time.monotonic() - started < 1.0  # refused at once: waiting would have taken queue_wait (2 s)
        waiter.join()
        assert isinstance(waiter_result[0], ConverterBusy)  # waited queue_wait, then gave up
        holder.join()
        assert isinstance(holder_result[0], ConversionTimeout)
    finally:
        pool.stop()


def _capture(function, *args):
    try:
        function(*args)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


def test_a_worker_is_recycled_after_max_jobs(docx):
    pool = small_pool(max_jobs=2)
    try:
        first = the_worker(pool)
        for _ in range(3):
            assert pool.convert(docx).startswith(b"%PDF-")
        assert pool.status()["restarts"] == 1
        assert first not in pool._workers
    finally:
        pool.stop()


def test_workers_that_reach_the_limit_together_are_recycled_one_at_a_time(docx):
    pool = small_pool(size=2, max_jobs=2)
    try:
        failures: list[object] = []

        def convert_many() -> None:  # until both workers have been recycled (a restart takes ~1 s)
            for _ in range(200):
                try:
                    if not pool.convert(docx).startswith(b"%PDF-"):
                        failures.append("not a PDF")
                except Exception as exc:  # noqa: BLE001 - collected, asserted in the test's own thread
                    failures.append(exc)
                if pool.status()["restarts"] >= 3:
                    return

        threads = [threading.Thread(target=convert_many) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []  # an assertion inside a thread would only have been a warning
        assert pool.status()["restarts"] >= 3
        assert pool.most_replacing == 1
    finally:
        pool.stop()


def test_stopping_the_pool_ends_every_libreoffice(docx):
    pool = small_pool()
    worker = the_worker(pool)
    office = office_pids(worker)
    assert office, "LibreOffice is not running: nothing to prove"
    pids = office + [worker.process.pid]
    pool.stop()
    for pid in pids:
        wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"), 5)


def processes_under(folder) -> list[int]:
    """Processes whose command line names ``folder`` (a pool's workers and their LibreOffice profiles)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if str(folder).encode() in handle.read() and not _zombie(int(entry)):
                        found.append(int(entry))
            except OSError:
                pass
    return found


def test_stopping_the_pool_while_a_worker_is_being_recycled_leaves_no_libreoffice(docx):
    pool = small_pool(max_jobs=1)
    assert pool.convert(docx).startswith(b"%PDF-")  # the worker is now being replaced, in the background
    assert pool.status()["restarts"] == 1
    pool.stop()  # returns once the successor is up and stopped again
    assert processes_under(pool._root) == []


def test_a_worker_whose_pool_is_gone_before_it_is_ready_takes_libreoffice_down(tmp_path):
    """The service died while a worker was starting: its "ready" meets a closed pipe."""
    import subprocess

    settings = pool_settings(load_settings(environ={}))
    worker = subprocess.Popen(
        [settings.uno_python, str(ROOT / "service" / "converting" / "worker.py"), "--soffice", settings.soffice,
         "--profile", str(tmp_path / "profile"), "--pipe", f"orphan_{os.getpid()}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    worker.stdout.close()
    wait_for(lambda: processes_under(tmp_path / "profile"), 30)  # LibreOffice started
    assert worker.wait(60) != 0
    wait_for(lambda: processes_under(tmp_path / "profile") == [], 15)


def test_libreoffice_goes_when_the_service_dies_without_stopping_the_pool(docx, tmp_path):
    """A service killed outright (SIGKILL, OOM) leaves no LibreOffice behind: its workers see their
    stdin close and take LibreOffice down with them."""
    import subprocess
    import sys

    script = tmp_path / "killed_service.py"
    script.write_text(
        "import sys, time\n"
        "from service.config import load_settings\n"
        "from service.converting.pool import ConverterPool\n"
        "from service.runtime import pool_settings\n"
        "pool = ConverterPool(pool_settings(load_settings(environ={}, converter_workers=1)))\n"
        "pool.start()\n"
        "print(next(iter(pool._workers)).process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    service = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    group = int(service.stdout.readline())
    members = [int(e) for e in os.listdir("/proc") if e.isdigit() and _in_group(int(e), group)]
    assert len(members) >= 2  # the worker and LibreOffice
    service.kill()
    service.wait()
    for pid in members:
        wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 15)


def _in_group(pid: int, group: int) -> bool:
    try:
        return os.getpgid(pid) == group
    except ProcessLookupError:
        return False


def _zombie(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
