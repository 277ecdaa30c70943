"""Converting DOCX to PDF: a pool of warm LibreOffice processes (pool.py), each driven over UNO by worker.py,
with LibreOffice's own narrowed CJK font set (fontset.py)."""
