"""Agencies' own templates: checked uploads and published versions in the database; documents record the version

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0011"
# 0010 is another branch's; until it merges this follows 0009 (set back to "0010" at merge).
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("template_version", sa.Integer(), nullable=True))
    op.create_table(
        "template_uploads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_template_uploads_agency"), "template_uploads", ["agency"], unique=False)
    op.create_table(
        "template_versions",
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("upload_id", sa.String(length=36), nullable=True),
        sa.Column("restores", sa.Integer(), nullable=True),
        sa.Column("warnings_acknowledged", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("agency", "form", "version"),
    )


def downgrade() -> None:
    op.drop_table("template_versions")
    op.drop_index(op.f("ix_template_uploads_agency"), table_name="template_uploads")
    op.drop_table("template_uploads")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("template_version")
