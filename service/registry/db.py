"""Engine set-up: SQLite in WAL mode with a busy timeout, so concurrent requests wait rather than fail;
PostgreSQL through psycopg. The schema is brought up to date by ``schema.upgrade``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from . import schema


def make_engine(url: str, *, migrate: bool = True) -> Engine:
    """Creates the engine and, unless ``migrate`` is False, prepares the schema (``schema.prepare``): the embedded
    SQLite is migrated; any other database must have been (``python -m service db upgrade``). Raises
    ConfigurationError for a server database behind the newest migration."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    else:
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        schema.prepare(engine)
    return engine
