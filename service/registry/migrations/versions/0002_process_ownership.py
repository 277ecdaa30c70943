"""Documents and idempotency keys name the process issuing them; the processes keep a heartbeat

A crash left documents ``issuing`` for ever. With the owner recorded, the rows of a process that is gone
are voided at the next start (service/recovery.py), and its unbound idempotency keys released.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("boot_id", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("proc_start", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=36), nullable=True))
        batch.create_index(batch.f("ix_documents_owner"), ["owner"], unique=False)
    # On SQLite the table is copied: from this definition, so that the first schema's redundant UNIQUE(key)
    # (the key is the primary key; PostgreSQL never made it) goes.
    keys = sa.Table(
        "idempotency_keys",
        sa.MetaData(),
        sa.Column("key", sa.String(length=255), primary_key=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("idempotency_keys", copy_from=keys) as batch:
        batch.add_column(sa.Column("owner", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("documents") as batch:
        batch.drop_index(batch.f("ix_documents_owner"))
        batch.drop_column("owner")
    op.drop_table("instances")
