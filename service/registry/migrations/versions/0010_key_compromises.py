"""Agency keys reported compromised

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "key_compromises",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("cert_sha256", sa.String(length=64), nullable=False),
        sa.Column("cert_serial", sa.String(length=80), nullable=False),
        sa.Column("cert_subject", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_key_compromises_agency"), "key_compromises", ["agency"], unique=False)
    op.create_index(op.f("ix_key_compromises_cert_sha256"), "key_compromises", ["cert_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_key_compromises_cert_sha256"), table_name="key_compromises")
    op.drop_index(op.f("ix_key_compromises_agency"), table_name="key_compromises")
    op.drop_table("key_compromises")
