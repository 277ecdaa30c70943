"""The registry: documents, number counters and idempotency keys (SQLAlchemy), and the file store."""
