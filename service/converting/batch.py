"""Many DOCX → their PDFs with fewer LibreOffice loads (issue 17, "faster in bulk"). Measured on LibreOffice 7.4,
neither way of cutting beats converting one by one (bench/batch_convert_bench.py, bench/RESULTS.md): each page-range
export costs about what a letter's own export costs, so bulk issuing converts one document at a time and this module
is not in its path. It stays, tested, for the LibreOffice whose export cost makes it pay.

Documents that can share a load are merged into one DOCX (``docx_merge.py``), loaded once, and each document gets its own PDF with its own pages,
footer numbers, QR code, signature-label destinations and fonts subset to its own characters.

Two ways to cut: a converter with ``convert_parts`` (the pool) has LibreOffice export each document's
pages from the one load, subsetting fonts and pictures itself; for a converter with ``convert`` only,
the merged PDF is cut apart in Python (``pdf_split.py``, fonts re-subset by ``font_subset.py``),
about three times slower (see bench/batch_convert_bench.py).

A document that cannot be merged or cut out exactly is converted alone, by the same converter, so
every result is the document's own either way. The order of the documents and the grouping depend
on the input alone: the same batch gives the same groups.

Bounded time: the pool bounds each conversion by its timeout, and a merged conversion of ``group``
documents takes about ``group`` times one document's LibreOffice time. Choose ``group`` so that this
stays well inside the pool's timeout (8 letters take ~0.6 s with ``convert_parts`` against the default 60 s). A merged
conversion that fails or times out is not retried merged: its documents are converted alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from ..errors import ConversionError, ConverterBusy
from . import docx_merge, pdf_split
from .pool import Part

log = logging.getLogger(__name__)
T = TypeVar("T")


class DocxConverter(Protocol):
    def convert(self, docx: bytes) -> bytes: ...


@runtime_checkable
class PartsConverter(DocxConverter, Protocol):
    def convert_parts(self, docx: bytes, parts: Sequence[Part]) -> list[bytes | None]: ...


@dataclass
class BatchTimings:
    """Seconds spent per stage over one call (for the benchmark): merging DOCX, converting merged
    files (with ``convert_parts``: the load and every document's export), cutting PDFs in Python
    (re-subsetting fonts included; none with ``convert_parts``), converting documents alone."""

    merge: float = 0.0
    convert: float = 0.0
    split: float = 0.0
    alone: float = 0.0
    merged_documents: int = 0
    alone_documents: int = 0
    notes: list[str] = field(default_factory=list)


def plan(sources: Sequence[docx_merge.Source | None], group: int) -> list[list[int]]:
    """Groups of document indexes to convert together (a group of one is converted alone): documents
    with the same shared parts and no clashing styles, in input order, at most ``group`` per group."""
    groups: list[list[int]] = []
    open_groups: dict[str, list[list[int]]] = {}
    for index, source in enumerate(sources):
        if source is None or group < 2:
            groups.append([index])
            continue
        for candidate in open_groups.setdefault(source.key, []):
            if len(candidate) < group and not any(docx_merge.clashes(sources[i].styles, source.styles) for i in candidate):
                candidate.append(index)
                break
        else:
            new = [index]
            open_groups[source.key].append(new)
            groups.append(new)
    return groups


def convert_batch(converter: DocxConverter, docxs: Sequence[bytes], *, group: int = 8,
                  timings: BatchTimings | None = None) -> list[bytes]:
    """The PDF of each DOCX, in order, each as ``converter.convert`` would give it alone (same pages,
    text, footer, QR code and label destinations; fonts subset to its own characters).

    ``group``: at most this many documents per LibreOffice load (1: every document alone); a merged
    load may take up to ``group`` times as long as one document's, within the converter's timeout.

    Raises what ``converter.convert`` raises for a document converted alone (ConversionError,
    ConversionTimeout, ConverterBusy); a merged conversion that fails falls back to converting alone.
    """
    timings = timings if timings is not None else BatchTimings()
    results: list[bytes | None] = [None] * len(docxs)
    sources: list[docx_merge.Source | None] = []
    started = time.perf_counter()
    for index, docx in enumerate(docxs):
        try:
            sources.append(docx_merge.inspect(docx))
        except docx_merge.Unmergeable as exc:
            log.info("batch: document %s is converted alone: %s", index, exc)
            sources.append(None)
    timings.merge += time.perf_counter() - started
    for members in plan(sources, group):
        if len(members) > 1:
            for index, pdf in zip(members, _convert_merged(converter, [sources[i] for i in members], timings)):
                results[index] = pdf
        for index in members:
            if results[index] is None:
                started = time.perf_counter()
                results[index] = converter.convert(docxs[index])
                timings.alone += time.perf_counter() - started
                timings.alone_documents += 1
    return results  # type: ignore[return-value]  # every entry was filled


def _timed(conversion: Callable[[], T], count: int, timings: BatchTimings) -> T | None:
    """A merged conversion, its time counted; None when LibreOffice failed on it (its documents then go alone).
    ConverterBusy is not a failure of the merge: it is raised."""
    started = time.perf_counter()
    try:
        return conversion()
    except ConverterBusy:
        raise
    except ConversionError as exc:
        log.warning("batch: the merged conversion of %s documents failed (%s); converting them alone", count, exc.en)
        timings.notes.append(f"merged conversion failed: {exc.code}")
        return None
    finally:
        timings.convert += time.perf_counter() - started


def _convert_merged(converter: DocxConverter, sources: list[docx_merge.Source], timings: BatchTimings) -> list[bytes | None]:
    """The PDFs of ``sources`` from one merged conversion; None for each one to convert alone."""
    started = time.perf_counter()
    merged = docx_merge.merge(sources)
    timings.merge += time.perf_counter() - started
    if isinstance(converter, PartsConverter):
        parts = [Part(docx_merge.start_mark(i), docx_merge.end_mark(i), docx_merge.own_suffix(i)) for i in range(len(sources))]
        pdfs = _timed(lambda: converter.convert_parts(merged, parts), len(sources), timings)
        if pdfs is None:
            return [None] * len(sources)
        timings.merged_documents += sum(pdf is not None for pdf in pdfs)
        return pdfs
    pdf = _timed(lambda: converter.convert(merged), len(sources), timings)
    if pdf is None:
        return [None] * len(sources)
    started = time.perf_counter()
    parts = pdf_split.split(pdf, len(sources))
    timings.split += time.perf_counter() - started
    timings.merged_documents += sum(part is not None for part in parts)
    return parts
