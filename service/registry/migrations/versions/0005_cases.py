"""Cases (办件), their deadlines, and the versioned item catalogue; documents record their case and catalogue versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("case_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("catalog_items", sa.JSON(), nullable=True))
        batch.create_index(batch.f("ix_documents_case_id"), ["case_id"], unique=False)
    op.create_table(
        "catalog_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency", "name", name="uq_catalog_items_agency_name"),
    )
    op.create_index(op.f("ix_catalog_items_agency"), "catalog_items", ["agency"], unique=False)
    op.create_table(
        "catalog_item_versions",
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "version"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("procedure", sa.String(length=12), nullable=False),
        sa.Column("commitment_type", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("received_on", sa.String(length=10), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("applicant_key", sa.String(length=64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("false_commitment", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("lock", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("number"),
    )
    for column in ("agency", "state", "received_on", "applicant_name", "applicant_key"):
        op.create_index(op.f(f"ix_cases_{column}"), "cases", [column], unique=False)
    op.create_table(
        "case_deadlines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref", sa.String(length=60), nullable=True),
        sa.Column("start_on", sa.String(length=10), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.String(length=10), nullable=False),
        sa.Column("exact", sa.Integer(), nullable=False),
        sa.Column("unknown_years", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("done_on", sa.String(length=10), nullable=True),
        sa.Column("missed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("case_id", "agency", "due_on"):
        op.create_index(op.f(f"ix_case_deadlines_{column}"), "case_deadlines", [column], unique=False)


def downgrade() -> None:
    for column in ("case_id", "agency", "due_on"):
        op.drop_index(op.f(f"ix_case_deadlines_{column}"), table_name="case_deadlines")
    op.drop_table("case_deadlines")
    for column in ("agency", "state", "received_on", "applicant_name", "applicant_key"):
        op.drop_index(op.f(f"ix_cases_{column}"), table_name="cases")
    op.drop_table("cases")
    op.drop_table("catalog_item_versions")
    op.drop_index(op.f("ix_catalog_items_agency"), table_name="catalog_items")
    op.drop_table("catalog_items")
    with op.batch_alter_table("documents") as batch:
        batch.drop_index(batch.f("ix_documents_case_id"))
        batch.drop_column("catalog_items")
        batch.drop_column("case_id")
