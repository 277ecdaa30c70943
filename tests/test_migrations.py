"""The schema through Alembic: the migrations build what tables.py declares, a populated database from
before is upgraded without losing a row, and processes starting together on one fresh PostgreSQL
database all start, with one administrator."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, inspect, select, text

from service.audit import AuditLog
from service.auth.api_keys import ApiKeys
from service.registry import schema
from service.registry.db import make_engine
from service.registry.tables import documents, idempotency_keys, metadata, revisions, users

from .conftest import ROOT


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("empty_pg_url")


def at_revision(url: str, revision: str):
    engine = make_engine(url, migrate=False)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), revision)
    return engine


def test_the_migrations_build_what_the_tables_declare(url):
    engine = at_revision(url, "head")
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []
    assert schema.current(engine) == schema.head()


def test_a_populated_database_of_the_baseline_is_upgraded_without_losing_a_row(url, tmp_path):
    engine = at_revision(url, schema.BASELINE)
    now = dt.datetime(2026, 3, 1, 8, tzinfo=dt.timezone.utc).replace(tzinfo=None)
    clock = lambda: dt.datetime(2026, 3, 1, 8, tzinfo=dt.timezone.utc)  # noqa: E731
    _, key = ApiKeys(engine).create(name="婚姻登记系统", agencies=["jc-justice"], forms=["*"], now=clock())
    audit = AuditLog(engine, tmp_path / "audit.head", clock)
    for n in range(3):
        audit.record(actor="operator:cli", action="issue", object=f"document:d{n}", outcome="success", detail={"n": n})
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO documents (id, serial, form, agency, status, subject, data, created_at) "
            "VALUES ('d1', '2026-00000001-ABCD', 'liaison-form', 'jc-justice', 'issuing', '陈秀兰', '{}', :now)"), {"now": now})
        for doc_id, form, digest in (("d2", "commitment-letter", "a" * 64), ("d3", "liaison-form", "b" * 64)):
            conn.execute(text(
                "INSERT INTO documents (id, serial, form, agency, status, subject, data, created_at, issued_at, sha256, pdf_path, pdf_size) "
                f"VALUES ('{doc_id}', '2026-0000000{doc_id[1]}-ABCD', '{form}', 'jc-justice', 'issued', '', '{{}}', :now, :now, "
                f"'{digest}', '2026/03/{doc_id}.pdf', 1000)"), {"now": now})
        conn.execute(text("INSERT INTO idempotency_keys (key, request_hash, created_at) VALUES ('k', 'h', :now)"), {"now": now})
        conn.execute(text("INSERT INTO users (id, username, password_hash, role, created_at, failed_logins) "
                          "VALUES ('u1', 'wang', 'x', 'clerk', :now, 0)"), {"now": now})
    assert schema.upgrade(engine) == schema.head()
    with engine.connect() as conn:
        row = conn.execute(select(documents).where(documents.c.id == "d1")).one()
        assert (row.serial, row.subject, row.status, row.owner) == ("2026-00000001-ABCD", "陈秀兰", "issuing", None)
        issued = {r.id: r.status for r in conn.execute(select(documents.c.id, documents.c.status).where(documents.c.id != "d1"))}
        assert issued == {"d2": "awaiting_signatures", "d3": "completed"}
        assert conn.execute(select(revisions.c.document_id, revisions.c.number, revisions.c.sha256).order_by(revisions.c.document_id)).all() == \
            [("d2", 0, "a" * 64), ("d3", 0, "b" * 64)]
        assert conn.execute(select(users.c.username)).scalars().all() == ["wang"]
        assert conn.execute(select(idempotency_keys.c.key)).scalars().all() == ["k"]
        assert "instances" in inspect(conn).get_table_names()
    assert ApiKeys(engine).authenticate(key, clock()).name.endswith("(婚姻登记系统)")
    check = AuditLog(engine, tmp_path / "audit.head", clock).verify()
    assert (check.ok, check.entries) == (True, 3)


def test_a_database_made_before_migrations_is_stamped_and_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url, migrate=False)
    early = MetaData()  # the first release's create_all: three tables, without the columns added since
    for name in ("documents", "counters", "idempotency_keys"):
        Table(name, early, *[Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, index=c.index, unique=c.unique)
                              for c in metadata.tables[name].columns if c.name not in ("owner", "revision", "case_id", "catalog_items", "template_version")])
    early.create_all(engine)
    schema.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []


# Each process migrates (all at once), then waits until all four have, then makes the first administrator
# (all at once): the two races of 'serve' starting on a fresh database.
STARTUP = """
import os, sys, time
from pathlib import Path
from service.__main__ import _announce_sign_in
from service.config import load_settings
from service.runtime import build_services
settings = load_settings(environ={"CHENGNUO_DATA_DIR": sys.argv[1], "CHENGNUO_DATABASE_URL": sys.argv[2]})
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
services = build_services(settings)
barrier = Path(sys.argv[4])
barrier.mkdir(exist_ok=True)
(barrier / str(os.getpid())).touch()
deadline = time.monotonic() + 30  # a process that died on the way must not hold the others for ever
while len(list(barrier.iterdir())) < 4 and time.monotonic() < deadline:
    time.sleep(0.01)
_announce_sign_in(services, "http://127.0.0.1:8000")
"""


@pytest.mark.slow
def test_processes_starting_together_on_a_fresh_postgresql_database_all_start_with_one_administrator(empty_pg_url, tmp_path):
    for attempt in range(3):
        url = empty_pg_url if attempt == 0 else empty_pg_url.rsplit("/", 1)[0] + "/" + _fresh(empty_pg_url, attempt)
        upgrades = [subprocess.Popen([sys.executable, "-m", "service", "db", "upgrade"], cwd=ROOT,  # run twice at once: locked
                                     env={**os.environ, "CHENGNUO_DATABASE_URL": url}, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        assert [u.wait(timeout=120) for u in upgrades] == [0, 0]
        start_at = time.time() + 4
        barrier = tmp_path / f"barrier-{attempt}"
        processes = [subprocess.Popen([sys.executable, "-c", STARTUP, str(tmp_path / "data"), url, str(start_at), str(barrier)], cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(4)]
        outputs = [p.communicate(timeout=120)[0] for p in processes]
        assert [p.returncode for p in processes] == [0] * 4, outputs
        assert sum("with password:" in out for out in outputs) == 1, outputs
        engine = make_engine(url, migrate=False)
        with engine.connect() as conn:
            assert conn.execute(select(users.c.username, users.c.role)).all() == [("admin", "admin")]
        engine.dispose()


def _fresh(url: str, attempt: int) -> str:
    import psycopg

    name = f"{url.rsplit('/', 1)[1]}_{attempt}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name



def test_a_service_refuses_to_start_on_a_postgresql_database_behind_the_migrations(empty_pg_url, tmp_path):
    env = {**os.environ, "CHENGNUO_DATA_DIR": str(tmp_path / "data"), "CHENGNUO_DATABASE_URL": empty_pg_url}
    refused = subprocess.run([sys.executable, "-m", "service", "user", "list"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120, check=False)
    assert refused.returncode != 0 and "python -m service db upgrade" in refused.stdout + refused.stderr
    upgraded = subprocess.run([sys.executable, "-m", "service", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
    assert upgraded.returncode == 0 and schema.head() in upgraded.stdout
    assert subprocess.run([sys.executable, "-m", "service", "user", "list"], cwd=ROOT, env=env, timeout=120, check=False).returncode == 0
