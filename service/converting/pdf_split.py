"""The PDF of a merged DOCX (``docx_merge.py``) → one PDF per document, each as it would be alone.

Where each document begins and ends is read from the start and end bookmarks that LibreOffice exports
as named destinations. A document is cut out only if its end bookmark lies on the last page before
the next document's first (else its layout did not stay within its own pages, and it is converted
alone: :func:`split` gives None for it). Each cut-out PDF then gets:

- its pages, and of the named destinations only its own (the signature labels), under their own names;
- no link annotation of the footer's page total (LibreOffice exports the PAGEREF that stands for
  NUMPAGES as a link to the end bookmark): the PDF it would be alone has none;
- a structure tree (the PDF is tagged) of its own pages' elements only, its ParentTree rebuilt;
- per page, of LibreOffice's one resource dictionary for all pages, only what the page uses (so no
  other document's QR code travels along);
- its fonts re-subset to its own characters (``font_subset.py``).

qpdf writes only the objects still referenced, so nothing else of the batch is left in the file.
"""

from __future__ import annotations

import io
import itertools
import logging
from dataclasses import dataclass

import pikepdf

from . import docx_merge, font_subset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Span:
    """Where document ``index`` lies in the batch PDF: pages ``first``..``last`` (0-based, inclusive)."""

    index: int
    first: int
    last: int
    end_mark: tuple[int, float, float]  # page, x, y of its end bookmark


def _destinations(pdf: pikepdf.Pdf) -> dict[str, pikepdf.Array]:
    dests = pdf.Root.get("/Dests")
    if not isinstance(dests, pikepdf.Dictionary):
        return {}
    found = {}
    for name, value in dests.items():
        if isinstance(value, pikepdf.Dictionary):
            value = value.get("/D")
        if isinstance(value, pikepdf.Array) and len(value) >= 4:
            found[name[1:]] = value
    return found


def spans(pdf: pikepdf.Pdf, count: int) -> list[Span | None]:
    """Each document's pages, or None for a document that cannot be cut out alone."""
    index = {page.objgen: number for number, page in enumerate(pdf.pages)}
    starts: dict[int, int] = {}
    ends: dict[int, tuple[int, float, float]] = {}
    for name, value in _destinations(pdf).items():
        mark = docx_merge.parse_mark(name)
        page = index.get(value[0].objgen) if isinstance(value[0], pikepdf.Dictionary) else None
        if mark is None or page is None:
            continue
        if mark[1] == "s":
            starts[mark[0]] = page
        else:
            ends[mark[0]] = (page, float(value[2]), float(value[3]))
    first_pages = [starts.get(i) for i in range(count)]
    if None in first_pages or first_pages[0] != 0 or any(a >= b for a, b in itertools.pairwise(first_pages)):
        log.warning("batch PDF: the documents' start marks are missing or out of order; converting each alone")
        return [None] * count
    result: list[Span | None] = []
    for i, first in enumerate(first_pages):
        last = (first_pages[i + 1] if i + 1 < count else len(pdf.pages)) - 1
        end = ends.get(i)
        if end is None or end[0] != last:
            log.info("batch PDF: document %s does not end on its last page; converting it alone", i)
            result.append(None)
        else:
            result.append(Span(i, first, last, end))
    return result


def split(pdf_bytes: bytes, count: int) -> list[bytes | None]:
    """One PDF per document of the batch, None where a document must be converted alone (its span is
    unclear, or a font cannot be re-subset)."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        found = spans(pdf, count)
    results: list[bytes | None] = []
    parsed: dict = {}  # font programs read once for all the documents
    for span in found:
        if span is None:
            results.append(None)
            continue
        try:
            results.append(cut(pdf_bytes, span, parsed))
        except (font_subset.UnsupportedFont, pikepdf.PdfError, KeyError, ValueError, TypeError) as exc:
            log.warning("batch PDF: document %s cannot be cut out (%s: %s); converting it alone", span.index, type(exc).__name__, exc)
            results.append(None)
    return results


def cut(pdf_bytes: bytes, span: Span, parsed: dict | None = None) -> bytes:
    """The PDF of one document (``parsed``: see font_subset.subset_font). Raises UnsupportedFont, pikepdf.PdfError."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        del pdf.pages[span.last + 1:]
        del pdf.pages[:span.first]
        kept = {page.objgen for page in pdf.pages}
        _own_destinations(pdf, span, kept)
        removed = _drop_total_links(pdf, span)
        _prune_structure(pdf, kept, removed)
        _own_resources(pdf, {} if parsed is None else parsed)
        if isinstance(pdf.Root.get("/OpenAction"), pikepdf.Array) and len(pdf.Root.OpenAction):
            pdf.Root.OpenAction[0] = pdf.pages[0].obj
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    with pikepdf.open(io.BytesIO(out.getvalue())) as written:  # qpdf wrote what is reachable: no other page may be
        pages = sum(1 for obj in written.objects if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Page")
        if pages != len(written.pages):
            raise ValueError(f"{pages - len(written.pages)} page(s) of other documents still referenced")
    return out.getvalue()


def _own_destinations(pdf: pikepdf.Pdf, span: Span, kept: set) -> None:
    suffix = docx_merge.own_suffix(span.index)
    own = pikepdf.Dictionary()
    for name, value in (pdf.Root.get("/Dests") or pikepdf.Dictionary()).items():
        target = value.get("/D") if isinstance(value, pikepdf.Dictionary) else value
        if name.endswith(suffix) and isinstance(target, pikepdf.Array) and target[0].objgen in kept:
            own[name[: -len(suffix)]] = value
    if len(own):
        pdf.Root.Dests = pdf.make_indirect(own)
    elif "/Dests" in pdf.Root:
        del pdf.Root.Dests


def _drop_total_links(pdf: pikepdf.Pdf, span: Span) -> set[tuple[int, int]]:
    """Removes the links LibreOffice made of the page total's PAGEREF (to the end bookmark)."""
    end_page = pdf.pages[span.end_mark[0] - span.first].obj.objgen
    removed: set[tuple[int, int]] = set()
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if annotations is None:
            continue
        kept = pikepdf.Array()
        for annotation in annotations:
            target = annotation.get("/Dest")
            if target is None and isinstance(annotation.get("/A"), pikepdf.Dictionary):
                target = annotation.A.get("/D")
            if (annotation.get("/Subtype") == "/Link" and isinstance(target, pikepdf.Array) and len(target) >= 4
                    and target[0].objgen == end_page and abs(float(target[2]) - span.end_mark[1]) < 0.01
                    and abs(float(target[3]) - span.end_mark[2]) < 0.01):
                removed.add(annotation.objgen)
            else:
                kept.append(annotation)
        if len(kept):
            page.obj.Annots = kept
        else:
            del page.obj.Annots
    return removed


def _prune_structure(pdf: pikepdf.Pdf, kept: set, removed: set) -> None:
    """The structure tree of the kept pages only; a Link element whose annotation was removed gives
    way to its content; the ParentTree is rebuilt from what remains."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    owners: dict[tuple[tuple[int, int], int], pikepdf.Object] = {}  # (page, mcid) → element
    annotation_owners: dict[tuple[int, int], pikepdf.Object] = {}

    def page_of(node, inherited):
        page = node.get("/Pg") if isinstance(node, pikepdf.Dictionary) else None
        return page.objgen if page is not None else inherited

    def prune(element, page) -> tuple[list, bool]:
        """The kids of ``element`` to keep, and whether it is a link that lost its annotation (whose
        content its parent then takes over)."""
        kids = element.get("/K")
        kids = kids if isinstance(kids, pikepdf.Array) else ([] if kids is None else [kids])
        out: list = []
        lost_link = False
        for kid in kids:
            if isinstance(kid, int):
                if page in kept:
                    out.append(("mcid", int(kid), page))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                if page_of(kid, page) in kept:
                    out.append(("mcid", int(kid.MCID), page_of(kid, page)))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                if kid.Obj.objgen in removed:
                    lost_link = True
                elif page_of(kid, page) in kept:
                    out.append(("objr", kid, None))
            elif isinstance(kid, pikepdf.Dictionary):
                grand, unwrap = prune(kid, page_of(kid, page))
                if unwrap:
                    out.extend(grand)
                elif grand or (kid.get("/Pg") is not None and kid.Pg.objgen in kept and kid.get("/K") is None):
                    out.append(("element", kid, None))
        if lost_link:
            return out, True
        _set_kids(element, out, page)
        return out, False

    def _set_kids(element, out, page) -> None:
        array = pikepdf.Array()
        for kind, value, at in out:
            if kind == "mcid":
                array.append(value if at == page else pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=pdf.get_object(at), MCID=value))
            elif kind == "objr":
                array.append(value)
            else:
                value.P = element
                if value.get("/Pg") is not None and value.Pg.objgen not in kept:
                    del value.Pg  # an element of this document's pages that LibreOffice anchored on an earlier page
                array.append(value)
        element.K = array

    prune(root, None)

    def collect(element, page) -> None:
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else []:
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                owners[(page_of(kid, page), int(kid.MCID))] = element
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                annotation_owners[kid.Obj.objgen] = element
            elif isinstance(kid, pikepdf.Dictionary):
                collect(kid, page_of(kid, page))
            else:
                owners[(page, int(kid))] = element

    for kid in root.K:
        collect(kid, page_of(kid, None))
    nums = pikepdf.Array()
    entries: dict[int, pikepdf.Object] = {}
    for page in pdf.pages:
        key = page.obj.get("/StructParents")
        if key is not None:
            mcids = sorted(m for (p, m) in owners if p == page.obj.objgen)
            entries[int(key)] = pikepdf.Array([owners.get((page.obj.objgen, m)) for m in range(mcids[-1] + 1)] if mcids else [])
        for annotation in page.obj.get("/Annots") or []:
            if annotation.get("/StructParent") is not None and annotation.objgen in annotation_owners:
                entries[int(annotation.StructParent)] = annotation_owners[annotation.objgen]
    for key in sorted(entries):
        nums.append(key)
        nums.append(entries[key])
    root.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=nums))


def _names_used(instructions) -> set[str]:
    names: set[str] = set()
    for operands, _operator in instructions:
        for operand in operands:
            if isinstance(operand, pikepdf.Name):
                names.add(str(operand))
            elif isinstance(operand, pikepdf.Array):
                names.update(str(item) for item in operand if isinstance(item, pikepdf.Name))
    return names


def _own_resources(pdf: pikepdf.Pdf, parsed: dict) -> None:
    """Per page, only the resources it names; its fonts re-subset to what this document shows."""
    fonts: dict[tuple[int, int], pikepdf.Object] = {}
    codes = font_subset.used_codes(pdf.pages)
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        if resources is None:
            continue
        names = _names_used(pikepdf.parse_content_stream(page))
        own = pikepdf.Dictionary()
        for category, entries in resources.items():
            if not isinstance(entries, pikepdf.Dictionary):
                own[category] = entries  # /ProcSet
                continue
            chosen = pikepdf.Dictionary()
            for name, value in entries.items():
                if name not in names:
                    continue
                if category == "/XObject" and value.get("/Subtype") == "/Form" and "/Font" in value.get("/Resources", {}):
                    raise font_subset.UnsupportedFont("text in a form XObject")
                if category == "/Font":
                    if value.objgen not in fonts:
                        fonts[value.objgen] = font_subset.subset_font(pdf, value, codes.get(value.objgen, set()), parsed)
                    value = fonts[value.objgen]
                chosen[name] = value
            if len(chosen):
                own[category] = chosen
        page.obj.Resources = own
