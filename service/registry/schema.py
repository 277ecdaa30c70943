"""The registry's schema: brought to the newest Alembic migration, by one process at a time.

- An empty database gets the tables of ``tables.py`` at once and is stamped with the newest revision
  (Alembic's advice for new databases; a test checks that the migrations build the same schema).
- A database made before migrations existed (by ``create_all``; releases only ever added tables) runs
  every migration: the baseline creates only the tables it lacks.
- Otherwise the pending migrations run.

The embedded SQLite is upgraded at every start; a server database (PostgreSQL) only by the operator's
``python -m service db upgrade``, and a service that finds it behind refuses to start (``prepare``).

Several processes may start together on one database: PostgreSQL serialises them with an advisory
lock held for the transaction, SQLite with a lock file beside the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from ..errors import ConfigurationError
from .tables import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
_PG_LOCK = 0x63686E67  # "chng": the advisory lock of schema changes


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    return _scripts().get_current_head() or BASELINE


def current(engine: Engine) -> str | None:
    """The database's revision; None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def prepare(engine: Engine) -> None:
    """At start: the embedded SQLite is migrated in passing (one machine, one file). A server database is
    the operator's to migrate, once, before the new version starts (``python -m service db upgrade``):
    several nodes may run the old version meanwhile. Raises ConfigurationError when it is behind."""
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    found, wanted = current(engine), head()
    if found != wanted:
        raise ConfigurationError(
            f"数据库结构版本为 {found or '空'}，本版本需要 {wanted}：请先运行 python -m service db upgrade",
            f"the database schema is at revision {found or 'none'}, this version needs {wanted}: run 'python -m service db upgrade' first",
        )


def upgrade(engine: Engine) -> str:
    """Brings the database to the newest revision and returns it. Safe to call from several processes at once."""
    with _exclusive(engine) as conn:
        migration = MigrationContext.configure(conn)
        tables = set(inspect(conn).get_table_names())
        if "alembic_version" not in tables and not tables:
            metadata.create_all(conn)
            migration.stamp(_scripts(), "head")
            return head()
        if migration.get_current_revision() != head():  # the baseline creates only the tables that are missing
            command.upgrade(alembic_config(conn), "head")
    return head()


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A transaction that no other process's schema change runs beside."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            yield conn
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.begin() as conn:
            yield conn
        return
    with open(os.open(f"{database}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.begin() as conn:
            yield conn
