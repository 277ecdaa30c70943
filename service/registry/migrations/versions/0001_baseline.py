"""The schema as it stood before migrations: documents, counters, idempotency keys, API keys, users, audit log

Revision ID: 0001
Revises: 
Create Date: 2026-11-29

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The tables a release before migrations made with create_all may already exist: only the missing ones are
    created (releases then only ever added tables)."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'api_keys' not in existing:
        op.create_table('api_keys',
            sa.Column('id', sa.String(length=16), nullable=False),
            sa.Column('name', sa.String(length=200), nullable=False),
            sa.Column('secret_hash', sa.String(length=64), nullable=False),
            sa.Column('agencies', sa.JSON(), nullable=False),
            sa.Column('forms', sa.JSON(), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('revoked_at', sa.DateTime(), nullable=True),
            sa.Column('last_used_at', sa.DateTime(), nullable=True),
            sa.PrimaryKeyConstraint('id')
        )
    if 'audit_log' not in existing:
        op.create_table('audit_log',
            sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
            sa.Column('at', sa.DateTime(), nullable=False),
            sa.Column('actor', sa.String(length=200), nullable=False),
            sa.Column('action', sa.String(length=40), nullable=False),
            sa.Column('object', sa.String(length=200), nullable=False),
            sa.Column('outcome', sa.String(length=20), nullable=False),
            sa.Column('detail', sa.JSON(), nullable=False),
            sa.Column('prev_hash', sa.String(length=64), nullable=False),
            sa.Column('hash', sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint('seq'),
            sa.UniqueConstraint('prev_hash')
        )
    if 'audit_log' not in existing:
        op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'], unique=False)
    if 'counters' not in existing:
        op.create_table('counters',
            sa.Column('agency', sa.String(length=64), nullable=False),
            sa.Column('kind', sa.String(length=20), nullable=False),
            sa.Column('year', sa.Integer(), nullable=False),
            sa.Column('value', sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint('agency', 'kind', 'year')
        )
    if 'documents' not in existing:
        op.create_table('documents',
            sa.Column('id', sa.String(length=36), nullable=False),
            sa.Column('serial', sa.String(length=40), nullable=False),
            sa.Column('form', sa.String(length=64), nullable=False),
            sa.Column('agency', sa.String(length=64), nullable=False),
            sa.Column('number', sa.String(length=120), nullable=True),
            sa.Column('number_kind', sa.String(length=20), nullable=True),
            sa.Column('status', sa.String(length=12), nullable=False),
            sa.Column('subject', sa.String(length=200), nullable=False),
            sa.Column('data', sa.JSON(), nullable=False),
            sa.Column('sha256', sa.String(length=64), nullable=True),
            sa.Column('pdf_path', sa.Text(), nullable=True),
            sa.Column('docx_path', sa.Text(), nullable=True),
            sa.Column('pdf_size', sa.Integer(), nullable=True),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('issued_at', sa.DateTime(), nullable=True),
            sa.Column('voided_at', sa.DateTime(), nullable=True),
            sa.Column('void_reason', sa.Text(), nullable=True),
            sa.Column('request_id', sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('serial')
        )
    if 'documents' not in existing:
        op.create_index(op.f('ix_documents_agency'), 'documents', ['agency'], unique=False)
    if 'documents' not in existing:
        op.create_index(op.f('ix_documents_created_at'), 'documents', ['created_at'], unique=False)
    if 'documents' not in existing:
        op.create_index(op.f('ix_documents_form'), 'documents', ['form'], unique=False)
    if 'documents' not in existing:
        op.create_index(op.f('ix_documents_number'), 'documents', ['number'], unique=False)
    if 'documents' not in existing:
        op.create_index(op.f('ix_documents_subject'), 'documents', ['subject'], unique=False)
    if 'idempotency_keys' not in existing:
        op.create_table('idempotency_keys',
            sa.Column('key', sa.String(length=255), nullable=False),
            sa.Column('request_hash', sa.String(length=64), nullable=False),
            sa.Column('document_id', sa.String(length=36), nullable=True),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint('key'),
            sa.UniqueConstraint('key')
        )
    if 'users' not in existing:
        op.create_table('users',
            sa.Column('id', sa.String(length=36), nullable=False),
            sa.Column('username', sa.String(length=64), nullable=False),
            sa.Column('password_hash', sa.Text(), nullable=False),
            sa.Column('role', sa.String(length=20), nullable=False),
            sa.Column('agency', sa.String(length=64), nullable=True),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('disabled_at', sa.DateTime(), nullable=True),
            sa.Column('failed_logins', sa.Integer(), nullable=False),
            sa.Column('locked_until', sa.DateTime(), nullable=True),
            sa.PrimaryKeyConstraint('id'),
            sa.UniqueConstraint('username')
        )


def downgrade() -> None:
    """Downgrade schema."""
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_table('users')
    op.drop_table('idempotency_keys')
    op.drop_index(op.f('ix_documents_subject'), table_name='documents')
    op.drop_index(op.f('ix_documents_number'), table_name='documents')
    op.drop_index(op.f('ix_documents_form'), table_name='documents')
    op.drop_index(op.f('ix_documents_created_at'), table_name='documents')
    op.drop_index(op.f('ix_documents_agency'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('counters')
    op.drop_index(op.f('ix_audit_log_action'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('api_keys')
    # ### end Alembic commands ###
