"""PDFium (pypdfium2) is not thread-safe: two threads inside it at once crash the process (seen as a
SIGSEGV under concurrent requests). Every use goes through this lock."""

from __future__ import annotations

import threading

PDFIUM = threading.Lock()
