"""The audit trail: an append-only, hash-chained log (``chain.py``) whose end is guarded by a head outside
the database (``head.py``: a file, or an object in a bucket, ``head_object.py``), its writers taking turns
(``locks.py``); ``make_audit_log`` builds it from the settings (``setup.py``)."""

from .chain import GENESIS, AuditCheck, AuditEntry, AuditLog, entry_hash
from .setup import make_audit_log

__all__ = ["GENESIS", "AuditCheck", "AuditEntry", "AuditLog", "entry_hash", "make_audit_log"]
