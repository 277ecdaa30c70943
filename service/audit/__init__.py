"""The audit trail: an append-only, hash-chained log (``chain.py``) whose end is guarded by a head file
outside the database (``head.py``)."""

from .chain import GENESIS, AuditCheck, AuditEntry, AuditLog, entry_hash

__all__ = ["GENESIS", "AuditCheck", "AuditEntry", "AuditLog", "entry_hash"]
