"""Parties sign: documents keep every revision and wait for their parties' signatures; staff have their own keys;
signing links

``issued`` becomes ``awaiting_signatures`` for forms whose other parties sign, ``completed`` for the rest
(the forms without other parties when this migration was written); each issued file becomes revision 0.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FORMS_SIGNED_BY_NOBODY_ELSE = ("item-catalog", "liaison-form", "assistance-request-written", "assistance-request-visit",
                               "assistance-reply")


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:  # two batches: one would order its columns in a circle on SQLite
        batch.alter_column("status", existing_type=sa.String(length=12), type_=sa.String(length=24), existing_nullable=False)
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    documents = sa.table("documents", sa.column("id"), sa.column("form"), sa.column("status"), sa.column("sha256"),
                         sa.column("pdf_path"), sa.column("pdf_size"), sa.column("issued_at"))
    op.execute(documents.update().where(documents.c.status == "issued", documents.c.form.in_(FORMS_SIGNED_BY_NOBODY_ELSE))
               .values(status="completed"))
    op.execute(documents.update().where(documents.c.status == "issued").values(status="awaiting_signatures"))
    revisions = op.create_table(
        "revisions",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pdf_path", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=True),
        sa.Column("signer", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "number"),
    )
    op.create_index(op.f("ix_revisions_sha256"), "revisions", ["sha256"], unique=False)
    op.execute(revisions.insert().from_select(
        ["document_id", "number", "sha256", "pdf_path", "size", "created_at"],
        sa.select(documents.c.id, sa.literal(0), documents.c.sha256, documents.c.pdf_path, documents.c.pdf_size, documents.c.issued_at)
        .where(documents.c.sha256.is_not(None), documents.c.pdf_path.is_not(None), documents.c.issued_at.is_not(None)),
    ))
    op.create_table(
        "signing_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("identity_checked_by", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=True),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_signing_links_document_id"), "signing_links", ["document_id"], unique=False)
    op.create_index(op.f("ix_audit_log_object"), "audit_log", ["object"], unique=False)  # a document's evidence
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("display_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("signing_cert", sa.Text(), nullable=True))
        batch.add_column(sa.Column("signing_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("signature_image", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for column in ("signature_image", "signing_key", "signing_cert", "display_name"):
            batch.drop_column(column)
    op.drop_index(op.f("ix_audit_log_object"), table_name="audit_log")
    op.drop_index(op.f("ix_signing_links_document_id"), table_name="signing_links")
    op.drop_table("signing_links")
    op.drop_index(op.f("ix_revisions_sha256"), table_name="revisions")
    op.drop_table("revisions")
    documents = sa.table("documents", sa.column("status"))
    op.execute(documents.update().where(documents.c.status.in_(("awaiting_signatures", "completed"))).values(status="issued"))
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("revision")
        batch.alter_column("status", existing_type=sa.String(length=24), type_=sa.String(length=12), existing_nullable=False)
