"""Converting DOCX to PDF: a pool of warm LibreOffice processes (pool.py), each driven over UNO by worker.py,
with LibreOffice's own narrowed CJK font set (fontset.py)."""

from __future__ import annotations

from typing import Protocol


class Converter(Protocol):
    """What the pipeline needs of a converter (the pool; tests may stand a double in)."""

    def convert(self, docx: bytes) -> bytes:
        """The PDF of ``docx``. Raises ConversionError, ConversionTimeout or ConverterBusy."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> dict: ...
