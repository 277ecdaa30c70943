"""What may change in an issued document after the agency certified it, and naming what did.

pyHanko's default difference policy files every change of the document information dictionary (/Info)
and of the XMP metadata under ``lta_updates``, the level it also uses for validation data and document
timestamps. A title or a subject rewritten after issue would then pass as harmless. After issue we
permit only:

- signatures in the prepared fields (pyHanko's form rules);
- the signing tool's own modification date and producer: ``/ModDate`` and ``/Producer`` in /Info; in XMP
  (which pyHanko and Acrobat add when they sign a PDF 2.0 file) ``xmp:ModifyDate``, ``xmp:MetadataDate``,
  ``pdf:Producer``, the ``xmpMM`` identifiers and ``dc:format``, and copies of what /Info said at issue;
- validation data (/DSS) and the cross-reference and object streams that carry an update.

``ISSUED_DOCUMENT_POLICY`` is pyHanko's standard policy with its /Info and XMP rules replaced by these
strict ones, so that any other metadata change stays unexplained and pyHanko reports it as ``other``.
``metadata_changes`` names what changed, for the report's reasons.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.metadata import model, xmp_xml
from pyhanko.pdf_utils.metadata.info import view_from_info_dict
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader, RawPdfPath
from pyhanko.sign.diff_analysis import (
    CatalogModificationRule,
    DSSCompareRule,
    FormUpdatingRule,
    GenericFieldModificationRule,
    MetadataUpdateRule,
    ModificationLevel,
    ObjectStreamRule,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    WhitelistRule,
    XrefStreamRule,
)
from pyhanko.sign.diff_analysis.commons import safe_whitelist
from pyhanko.sign.diff_analysis.rules_api import Context

SIGNING_TOOL_KEYS = frozenset({"/ModDate", "/Producer"})
_XMP_MM = "http://ns.adobe.com/xap/1.0/mm/"
XMP_SIGNING_TOOL = frozenset({
    model.XMP_MODDATE,
    model.PDF_PRODUCER,
    model.ExpandedName(ns=model.NS["xmp"], local_name="MetadataDate"),
    model.ExpandedName(ns=_XMP_MM, local_name="DocumentID"),
    model.ExpandedName(ns=_XMP_MM, local_name="InstanceID"),
    model.ExpandedName(ns=model.NS["dc"], local_name="format"),
})
# XMP properties that restate an /Info entry: permitted when they say what /Info said at issue.
XMP_MIRRORS = {model.DC_TITLE: "title", model.DC_CREATOR: "author", model.DC_DESCRIPTION: "subject",
               model.PDF_KEYWORDS: "keywords", model.XMP_CREATORTOOL: "creator", model.XMP_CREATEDATE: "created"}
_PREFIXES = {ns: prefix for prefix, ns in {**model.NS, "xmpMM": _XMP_MM}.items()}


def _resolve(resolver: HistoricalResolver, value: object) -> object:
    """``value`` as it stood in that revision (an indirect object's own get_object reads the latest)."""
    return resolver.get_object(value.reference) if isinstance(value, generic.IndirectObject) else value


def _info(resolver: HistoricalResolver) -> generic.DictionaryObject:
    try:
        value = _resolve(resolver, resolver.trailer_view.raw_get("/Info"))
    except Exception:  # noqa: BLE001 - a missing, dangling or malformed /Info reads as none
        return generic.DictionaryObject()
    if not isinstance(value, generic.DictionaryObject):
        return generic.DictionaryObject()
    resolved = generic.DictionaryObject()
    for key in value:
        try:
            resolved[key] = _resolve(resolver, value.raw_get(key))
        except Exception:  # noqa: BLE001 - a dangling value differs from any real one
            resolved[key] = generic.NameObject("/dangling")
    return resolved


def _changed_info_keys(old: HistoricalResolver, new: HistoricalResolver) -> list[str]:
    before, after = _info(old), _info(new)
    return sorted(str(key) for key in set(before) | set(after) if before.get(key) != after.get(key))


def _xmp(resolver: HistoricalResolver) -> bytes | None:
    """The catalogue's /Metadata stream as it stood in that revision (``b""`` if it is no stream)."""
    try:
        root = _resolve(resolver, resolver.trailer_view.raw_get("/Root"))
        stream = _resolve(resolver, root.raw_get("/Metadata")) if "/Metadata" in root else None
    except Exception:  # noqa: BLE001 - an unreadable stream is a change like any other
        return b"\0unreadable"
    if stream is None:
        return None
    return stream.data if isinstance(stream, generic.StreamObject) else b""


def _plain(value: object) -> object:
    if isinstance(value, model.StringWithLanguage):
        return value.value
    return value


def _xmp_claims(xmp: bytes, certified: generic.DictionaryObject) -> list[str]:
    """The XMP properties of ``xmp`` that are neither the signing tool's own nor a copy of the certified /Info."""
    try:
        roots = xmp_xml.parse_xmp(io.BytesIO(xmp))
        stated = xmp_xml.meta_from_xmp(roots)
        at_issue = view_from_info_dict(certified, strict=False)
    except Exception:  # noqa: BLE001 - XMP that cannot be read says something we cannot check
        return ["XMP"]
    claims = []
    for name in {name for root in roots for name, _ in root}:
        if name in XMP_SIGNING_TOOL or name.ns in (model.NS["rdf"], model.NS["x"]):  # rdf:about, x:xmptk: structure
            continue
        mirrored = XMP_MIRRORS.get(name)
        if mirrored and _plain(getattr(stated, mirrored)) == _plain(getattr(at_issue, mirrored)):
            continue
        claims.append(f"XMP {_PREFIXES.get(name.ns, name.ns)}:{name.local_name}")
    return sorted(claims)


def _xmp_changes(old: HistoricalResolver, new: HistoricalResolver) -> list[str]:
    before, after = _xmp(old), _xmp(new)
    if after == before or after is None:
        return [] if after == before else ["XMP"]  # an XMP stream removed is a change too
    return _xmp_claims(after, _info(old))


class SigningToolInfoRule(WhitelistRule):
    """Permits an update of /Info only when what differs is the signing tool's modification date and producer."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        new_info = new.trailer_view.get_value_as_reference("/Info", optional=True)
        if new_info is None or not set(_changed_info_keys(old, new)) <= SIGNING_TOOL_KEYS:
            return
        old_info = old.trailer_view.get_value_as_reference("/Info", optional=True)
        yield from map(
            ReferenceUpdate.curry_ref(context_checked=Context.from_absolute(old, RawPdfPath("/Info"))),
            safe_whitelist(old, old_info, new_info),
        )


class SigningToolXmpRule(MetadataUpdateRule):
    """pyHanko's XMP rule (well-formed XML, no entities, no clobbered streams), and only the signing tool's
    own properties or copies of the certified /Info."""

    def apply(self, old: HistoricalResolver, new: HistoricalResolver) -> Iterable[ReferenceUpdate]:
        if _xmp_changes(old, new):
            return
        yield from super().apply(old, new)


ISSUED_DOCUMENT_POLICY = StandardDiffPolicy(
    global_rules=[
        CatalogModificationRule(),
        SigningToolInfoRule().as_qualified(ModificationLevel.LTA_UPDATES),
        XrefStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        ObjectStreamRule().as_qualified(ModificationLevel.LTA_UPDATES),
        DSSCompareRule().as_qualified(ModificationLevel.LTA_UPDATES),
        SigningToolXmpRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[SigFieldCreationRule(), SigFieldModificationRule(), GenericFieldModificationRule()]),
)


def metadata_changes(reader: PdfFileReader, revision: int) -> tuple[str, ...]:
    """What the latest revision's metadata says differently from ``revision``, beyond the signing tool's
    own entries: ``/Title``, ``/Subject`` … of /Info, ``XMP dc:title`` … of the XMP stream."""
    old, new = reader.get_historical_resolver(revision), reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
    changed = [key for key in _changed_info_keys(old, new) if key not in SIGNING_TOOL_KEYS]
    return tuple(changed + _xmp_changes(old, new))
