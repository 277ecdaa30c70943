"""Verification of documents that come back: signatures, changes since issue, registry match → report."""
