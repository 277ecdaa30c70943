"""Alembic's environment: run by ``python -m service db upgrade`` (and at start, through registry.schema) with
the service's own connection, or by the ``alembic`` command with the URL of the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from service.registry.tables import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    from service.config import load_settings

    engine = create_engine(config.get_main_option("sqlalchemy.url") or load_settings().database)
    with engine.begin() as connection:
        _migrate(connection)


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    # SQLite cannot alter columns in place: batch mode copies the table instead.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against the database")
run()
