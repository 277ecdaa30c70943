"""The registry: documents, number counters, idempotency keys, processes and the audit trail's tables (SQLAlchemy), and the schema's migrations (Alembic)."""
