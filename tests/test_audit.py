"""The audit trail: chaining, tamper detection (altered, removed, truncated), concurrency, masking."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from service.audit import GENESIS, AuditLog, entry_hash
from service.errors import Conflict
from service.registry.db import make_engine
from service.registry.tables import audit_log

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


class Clock:
    """Deterministic, thread-safe: one millisecond later on every call."""

    def __init__(self) -> None:
        self.now, self._lock = T0, threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            self.now += dt.timedelta(milliseconds=1, microseconds=7)
            return self.now


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    return AuditLog(make_engine(f"sqlite:///{tmp_path / 'registry.db'}"), tmp_path / "state" / "audit.head", Clock())


def fill(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.record(actor="clerk:wang", action="issue" if i % 2 == 0 else "void", object=f"doc-{i + 1}", outcome="ok", detail={"i": i + 1})


def test_intact_log_verifies(log: AuditLog) -> None:
    assert log.verify().ok  # empty, no head file
    fill(log)
    check = log.verify()
    assert (check.ok, check.entries, check.first_bad_seq, check.problem) == (True, 5, None, None)


def test_entries_are_chained_with_the_documented_hash(log: AuditLog) -> None:
    first = log.record(actor="clerk:wang", action="issue", object="doc-1", outcome="ok", detail={"名称": "承诺书", "n": 1})
    second = log.record(actor="clerk:wang", action="void", object="doc-1", outcome="ok")
    assert (first.seq, first.prev_hash, second.seq, second.prev_hash) == (1, GENESIS, 2, first.hash)
    assert second.detail == {}
    assert first.at.tzinfo is not None and first.at.utcoffset() == dt.timedelta(0)
    canonical = json.dumps(
        {"seq": 1, "at": first.at.isoformat(), "actor": "clerk:wang", "action": "issue", "object": "doc-1", "outcome": "ok",
         "detail": {"名称": "承诺书", "n": 1}, "prev_hash": GENESIS},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    assert first.hash == hashlib.sha256(canonical.encode()).hexdigest()
    stored = log.entries()
    assert [e.hash for e in stored] == [second.hash, first.hash]
    assert stored[1] == first  # what is read back is exactly what was hashed


def test_head_file_is_private_and_names_the_last_entry(log: AuditLog) -> None:
    fill(log, 3)
    last = log.entries(limit=1)[0]
    assert log.head_file.read_text() == f"3:{last.hash}\n"
    assert stat.S_IMODE(os.stat(log.head_file).st_mode) == 0o600
    assert [p.name for p in log.head_file.parent.iterdir() if p.name.startswith(".audit.head.")] == []  # no temp files left


def test_altered_entry_is_caught_at_that_seq(log: AuditLog) -> None:
    fill(log)
    with log.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(outcome="denied"))
    check = log.verify()
    assert (check.ok, check.first_bad_seq, check.entries) == (False, 3, 3)
    assert "第 3 条" in check.problem and "seq 3" in check.problem and "altered" in check.problem


def test_altered_detail_is_caught(log: AuditLog) -> None:
    fill(log)
    with log.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(detail={"i": 99}))
    assert log.verify().first_bad_seq == 2


def test_altered_entry_with_recomputed_hash_is_caught_at_the_next_entry(log: AuditLog) -> None:
    fill(log)
    forge(log, 3, outcome="denied")
    check = log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 4)
    assert "prev_hash" in check.problem and "第 4 条" in check.problem and "seq 4" in check.problem


def test_rewritten_last_entry_is_caught_by_the_head_file(log: AuditLog) -> None:
    fill(log)
    forge(log, 5, outcome="denied")
    check = log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 5)
    assert "head file" in check.problem and "头文件" in check.problem


def test_deleted_middle_entry_is_a_gap(log: AuditLog) -> None:
    fill(log)
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 3))
    check = log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 3)
    assert "missing" in check.problem and "缺失" in check.problem and "seq 3" in check.problem


def test_deleted_first_entries_are_a_gap(log: AuditLog) -> None:
    fill(log)
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq <= 2))
    assert log.verify().first_bad_seq == 1


def test_deleted_last_entries_are_caught_by_the_head_file(log: AuditLog) -> None:
    fill(log)
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 4))
    check = log.verify()
    assert (check.ok, check.entries, check.first_bad_seq) == (False, 3, 5)
    assert "removed" in check.problem and "被删除" in check.problem and "4–5" in check.problem


def test_whole_log_deleted_is_caught_by_the_head_file(log: AuditLog) -> None:
    fill(log, 2)
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log))
    assert (log.verify().ok, log.verify().first_bad_seq) == (False, 2)


def test_missing_head_file_is_reported(log: AuditLog) -> None:
    fill(log)
    log.head_file.unlink()
    check = log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 5)
    assert "head file is missing" in check.problem and "头文件缺失" in check.problem


def test_malformed_head_file_is_reported(log: AuditLog) -> None:
    fill(log)
    log.head_file.write_text("garbage")
    check = log.verify()
    assert not check.ok and "malformed" in check.problem


def test_stale_head_file_is_reported(log: AuditLog) -> None:
    fill(log)
    stale = log.head_file.read_text()
    log.record(actor="a", action="issue", object="doc-6", outcome="ok")
    log.head_file.write_text(stale)
    check = log.verify()
    assert (check.ok, check.first_bad_seq) == (False, 6)


def test_concurrent_appends_stay_linear(log: AuditLog) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(25):
                log.record(actor=f"thread-{t}", action="issue", object=f"doc-{t}-{i}", outcome="ok")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    check = log.verify()
    assert (check.ok, check.entries) == (True, 200)
    assert [e.seq for e in log.entries(limit=1000)] == list(range(200, 0, -1))


# Appends entries from its own process: ``APPEND URL HEAD NAME COUNT`` (COUNT "forever": until killed), saying
# "ready" once its log is open.
APPEND = (
    "import datetime as dt, itertools, sys\n"
    "from pathlib import Path\n"
    "from service.audit import AuditLog\n"
    "from service.registry.db import make_engine\n"
    "log = AuditLog(make_engine(sys.argv[1]), Path(sys.argv[2]), lambda: dt.datetime.now(dt.timezone.utc))\n"
    "print('ready', flush=True)\n"
    "for i in itertools.count() if sys.argv[4] == 'forever' else range(int(sys.argv[4])):\n"
    "    log.record(actor='proc', action='issue', object=f'{sys.argv[3]}-{i}', outcome='ok')\n"
)


def append_from_processes(url: str, head: Path, processes: int, count: int) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", APPEND, url, str(head), str(n), str(count)], cwd=ROOT, stdout=subprocess.DEVNULL)
             for n in range(processes)]
    assert [p.wait(timeout=120) for p in procs] == [0] * processes


def test_concurrent_appends_from_several_processes_stay_linear(tmp_path: Path) -> None:
    db, head = tmp_path / "registry.db", tmp_path / "audit.head"
    make_engine(f"sqlite:///{db}").dispose()
    append_from_processes(f"sqlite:///{db}", head, 3, 20)
    log = AuditLog(make_engine(f"sqlite:///{db}"), head, Clock())
    check = log.verify()
    assert (check.ok, check.entries) == (True, 60)


def test_id_and_phone_numbers_are_masked_in_what_is_stored(log: AuditLog) -> None:
    entry = log.record(
        actor="applicant 410105199001011234",
        action="issue",
        object="doc for 13812345678",
        outcome="ok",
        detail={"applicant": {"id_number": "11010519491231002X", "phones": ["13912345678", 13712345678]}, "note": "身份证410105199001011234"},
    )
    with log.engine.connect() as conn:
        row = conn.execute(select(audit_log)).one()._mapping
    dumped = json.dumps(dict(row), default=str, ensure_ascii=False)
    for secret in ("410105199001011234", "11010519491231002X", "13812345678", "13912345678", "13712345678"):
        assert secret not in dumped
    assert row["actor"] == "applicant 4101**********1234"
    assert row["object"] == "doc for 138****5678"
    assert row["detail"] == {
        "applicant": {"id_number": "1101**********002X", "phones": ["139****5678", "137****5678"]},
        "note": "身份证4101**********1234",
    }
    assert entry.detail == row["detail"] and log.verify().ok


def test_detail_is_plain_bounded_json(log: AuditLog) -> None:
    entry = log.record(
        actor="a", action="issue", object="o", outcome="ok",
        detail={"long": "x" * 5000, "when": T0, "tuple": (1, 2), "many": list(range(500)), 7: float("nan"), "ok": True},
    )
    d = entry.detail
    assert len(d["long"]) == 1000 and d["when"] == str(T0) and d["tuple"] == [1, 2] and len(d["many"]) == 100
    assert d["7"] == "nan" and d["ok"] is True
    assert log.verify().ok


def test_naive_clock_is_refused(tmp_path: Path) -> None:
    log = AuditLog(make_engine(f"sqlite:///{tmp_path / 'r.db'}"), tmp_path / "h", lambda: dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        log.record(actor="a", action="issue", object="o", outcome="ok")


def test_entries_newest_first_filtered_and_paged(log: AuditLog) -> None:
    fill(log, 7)
    assert [e.seq for e in log.entries()] == [7, 6, 5, 4, 3, 2, 1]
    assert [e.seq for e in log.entries(action="issue")] == [7, 5, 3, 1]
    assert [e.seq for e in log.entries(action="void")] == [6, 4, 2]
    assert [e.seq for e in log.entries(limit=2)] == [7, 6]
    assert [e.seq for e in log.entries(limit=2, before_seq=6)] == [5, 4]
    assert [e.seq for e in log.entries(before_seq=6, action="issue", limit=1)] == [5]
    assert log.entries(action="nothing") == []


def test_a_kill_at_any_moment_leaves_a_chain_that_verifies(tmp_path: Path) -> None:
    """kill -9 while entries are appended in a loop, ten times: every time, the head and the chain agree."""
    db, head = tmp_path / "registry.db", tmp_path / "audit.head"
    make_engine(f"sqlite:///{db}").dispose()
    for kill in range(10):
        proc = subprocess.Popen([sys.executable, "-c", APPEND, f"sqlite:///{db}", str(head), "doc", "forever"], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.037 * kill)
        proc.kill()
        proc.wait(timeout=10)
        log = AuditLog(make_engine(f"sqlite:///{db}"), head, Clock())
        check = log.verify()
        assert check.ok, (kill, check.problem)
    assert check.entries > 10


CRASH_AFTER_COMMIT = (
    "import datetime as dt, os, signal, sys\n"
    "from pathlib import Path\n"
    "from service.audit import AuditLog, head\n"
    "from service.registry.db import make_engine\n"
    "log = AuditLog(make_engine(sys.argv[1]), Path(sys.argv[2]), lambda: dt.datetime.now(dt.timezone.utc))\n"
    "log.record(actor='proc', action='issue', object='doc-1', outcome='ok')\n"
    "write = head.HeadFile.write\n"
    "def crash_when_confirming(self, state):\n"
    "    if state.pending is None:\n"
    "        os.kill(os.getpid(), signal.SIGKILL)\n"
    "    write(self, state)\n"
    "head.HeadFile.write = crash_when_confirming\n"
    "log.record(actor='proc', action='issue', object='doc-2', outcome='ok')\n"
)


def test_a_crash_between_the_commit_and_the_head_leaves_a_chain_that_verifies(tmp_path: Path) -> None:
    db, head_file = tmp_path / "registry.db", tmp_path / "audit.head"
    make_engine(f"sqlite:///{db}").dispose()
    result = subprocess.run([sys.executable, "-c", CRASH_AFTER_COMMIT, f"sqlite:///{db}", str(head_file)], cwd=ROOT)
    assert result.returncode == -9
    log = AuditLog(make_engine(f"sqlite:///{db}"), head_file, Clock())
    assert "pending 2:" in head_file.read_text()
    assert (log.verify().ok, log.verify().entries) == (True, 2)
    log.record(actor="a", action="issue", object="doc-3", outcome="ok")
    assert head_file.read_text() == f"3:{log.entries(limit=1)[0].hash}\n"
    assert log.verify().ok


def test_a_mismatch_is_never_healed_by_later_entries_until_acknowledged(log: AuditLog, caplog) -> None:
    fill(log)
    with log.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 4))
    assert "4–5" in log.head_problem()
    assert "audit head mismatch" in caplog.text
    fill(log, 3)  # the service goes on writing
    check = log.verify()
    assert not check.ok and "4–5" in check.problem and "audit acknowledge" in check.problem
    assert "4–5" in log.head_problem()
    entry = log.acknowledge("operator:operator", "已核实：测试删除")
    assert entry.action == "audit.acknowledge" and "4–5" in entry.detail["problem"] and entry.detail["note"] == "已核实：测试删除"
    assert entry.detail["head"].startswith("5:") and entry.detail["chain_end"].startswith("3:")
    assert log.verify().ok and log.head_problem() is None
    with pytest.raises(Conflict):
        log.acknowledge("operator:operator", "again")


def test_a_head_older_than_the_chain_stays_reported_after_more_entries(log: AuditLog) -> None:
    fill(log)
    stale = log.head_file.read_text()
    log.record(actor="a", action="issue", object="doc-6", outcome="ok")
    log.head_file.write_text(stale)
    log.record(actor="a", action="issue", object="doc-7", outcome="ok")
    check = log.verify()
    assert not check.ok and "第 6 条与头文件（第 5 条）不符" in check.problem


def test_the_log_offers_no_way_to_change_entries() -> None:
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"record", "verify", "entries", "about", "head_problem", "acknowledge", "head_file"}


def forge(log: AuditLog, seq: int, **changes: str) -> None:
    """A smarter attacker: changes an entry and recomputes its hash so the entry itself looks intact."""
    with log.engine.begin() as conn:
        row = dict(conn.execute(select(audit_log).where(audit_log.c.seq == seq)).one()._mapping)
        row.update(changes)
        row.pop("hash")
        conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(**changes, hash=entry_hash(**row)))
