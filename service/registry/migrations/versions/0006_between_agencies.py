"""Between agencies: assistance requests and replies, credit information exports; cases keep their decision date

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("decided_on", sa.String(length=10), nullable=True))
        batch.create_index(batch.f("ix_cases_decided_on"), ["decided_on"], unique=False)
    op.create_table(
        "assistance_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("request_document_id", sa.String(length=36), nullable=False),
        sa.Column("from_agency", sa.String(length=64), nullable=False),
        sa.Column("to_agency", sa.String(length=64), nullable=True),
        sa.Column("addressee", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=True),
        sa.Column("letter_date", sa.String(length=10), nullable=False),
        sa.Column("reply_days", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("finding", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("refer_to", sa.String(length=200), nullable=True),
        sa.Column("visit", sa.JSON(), nullable=True),
        sa.Column("reply_document_id", sa.String(length=36), nullable=True),
        sa.Column("reply_number", sa.String(length=120), nullable=True),
        sa.Column("reply_date", sa.String(length=10), nullable=True),
        sa.Column("reply_file", sa.Text(), nullable=True),
        sa.Column("reply_sha256", sa.String(length=64), nullable=True),
        sa.Column("reply_verdict", sa.JSON(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_document_id"),
    )
    for column in ("case_id", "from_agency", "to_agency"):
        op.create_index(op.f(f"ix_assistance_requests_{column}"), "assistance_requests", [column], unique=False)
    op.create_table(
        "credit_exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("period_from", sa.String(length=10), nullable=False),
        sa.Column("period_to", sa.String(length=10), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_credit_exports_agency"), "credit_exports", ["agency"], unique=False)
    op.create_table(
        "credit_export_rows",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("export_id", sa.String(length=36), nullable=False),
        sa.Column("exported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "kind"),
    )
    op.create_index(op.f("ix_credit_export_rows_agency"), "credit_export_rows", ["agency"], unique=False)
    op.create_index(op.f("ix_credit_export_rows_export_id"), "credit_export_rows", ["export_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_export_rows_export_id"), table_name="credit_export_rows")
    op.drop_index(op.f("ix_credit_export_rows_agency"), table_name="credit_export_rows")
    op.drop_table("credit_export_rows")
    op.drop_index(op.f("ix_credit_exports_agency"), table_name="credit_exports")
    op.drop_table("credit_exports")
    for column in ("case_id", "from_agency", "to_agency"):
        op.drop_index(op.f(f"ix_assistance_requests_{column}"), table_name="assistance_requests")
    op.drop_table("assistance_requests")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(batch.f("ix_cases_decided_on"))
        batch.drop_column("decided_on")
