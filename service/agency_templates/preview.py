"""Previews of a template: the form's sample data (or data the supervisor typed) rendered as a 样稿 — marked as a
draft on every page, not numbered, not signed, not registered — with a red dashed box where the seal and each
signature will go (found by their labels, as the signing stage finds them). Page images put the upload beside the
template in use.

A preview's PDF is kept (a few, in this process) by what makes it: the template's bytes, the data and the day, so
that the page images of one comparison do not each convert the document again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..agencies import Agency
from ..auth.principal import Principal
from ..errors import InvalidRequest
from ..forms import FormSpec
from ..forms.jsonschema import sample
from ..issuing import draft_pdf, template_source, validate
from ..rendering import page_images
from ..rendering.docx_render import TemplateSource
from ..rendering.draft import mark_spots
from ..runtime import Services
from ..signing import spots
from .access import authorize_manage, target
from .upload import get_upload

KEPT = 16
_kept: OrderedDict[str, bytes] = OrderedDict()
_lock = threading.Lock()
WHICH = ("upload", "current")


def spot_boxes(pdf: bytes, spec: FormSpec) -> list[tuple[str, int, tuple[float, float, float, float]]]:
    """Where the signing stage would put the seal and each party's signature field on ``pdf``."""
    scan = spots.find_labels(pdf, spec.labels)
    boxes = [(f"{party.label} · 签名位置", *_box(spots.field_box(scan.labels.get(party.label), scan.last_page, slot)))
             for slot, party in enumerate(spec.signers)]
    if spec.seal is not None:
        boxes.append((f"{spec.seal.label} · 盖章位置", *_box(spots.seal_box(scan.labels.get(spec.seal.label), scan.last_page))))
    return boxes  # type: ignore[return-value]


def _box(box: spots.Box) -> tuple[int, tuple[float, float, float, float]]:
    return box.page, box.rect


def _data(spec: FormSpec, raw: Any | None, services: Services, agency: Agency) -> dict[str, Any]:
    _, data = validate(spec.id, sample(spec) if raw is None else raw, services.now().date(), agency)
    return data


def _marked(services: Services, spec: FormSpec, agency: Agency, source: TemplateSource | None, raw: Any | None) -> bytes:
    data = _data(spec, raw, services, agency)
    key = hashlib.sha256(json.dumps([spec.id, agency.id, source.sha256 if source else "builtin", str(services.now().date()),
                                     raw], ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    draft = draft_pdf(services, spec, data, agency, source)
    pdf = mark_spots(draft, spot_boxes(draft, spec))
    with _lock:
        _kept[key] = pdf
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return pdf


def preview_upload(services: Services, principal: Principal, form_id: str, upload_id: str, raw: Mapping[str, Any] | None = None) -> bytes:
    """The upload as a marked 样稿 PDF, with the form's sample data or ``raw``. Raises NotFound, Forbidden, InvalidData
    (the data, by field), and the conversion errors."""
    upload = get_upload(services, principal, form_id, upload_id, action="template.preview")
    agency, spec = target(services, principal, upload.agency, form_id)
    source = TemplateSource(upload.sha256, lambda: services.templates.upload_content(upload.id))
    return _marked(services, spec, agency, source, raw)


def preview_current(services: Services, principal: Principal, agency_id: str | None, form_id: str,
                    raw: Mapping[str, Any] | None = None) -> bytes:
    """The template the agency uses now, as a marked 样稿 PDF (as ``preview_upload``)."""
    agency, spec = target(services, principal, agency_id, form_id)
    authorize_manage(services, principal, agency.id, spec.id, "template.preview")
    return _marked(services, spec, agency, template_source(services, services.templates.current(agency.id, spec.id)), raw)


def page_count(services: Services, principal: Principal, form_id: str, upload_id: str) -> dict[str, int]:
    """How many pages the upload's and the current template's previews have."""
    upload = get_upload(services, principal, form_id, upload_id, action="template.preview")
    return {"upload": page_images.page_count(preview_upload(services, principal, form_id, upload_id)),
            "current": page_images.page_count(preview_current(services, principal, upload.agency, form_id))}


def page_png(services: Services, principal: Principal, form_id: str, upload_id: str, number: int, which: str) -> bytes:
    """Page ``number`` (from 1) of the upload's preview (``which`` = upload) or of the template in use (current), as a
    PNG. Raises InvalidRequest (which), NotFound (no such page), and what the previews raise."""
    if which not in WHICH:
        raise InvalidRequest("version 应为 current 或 upload", "version must be current or upload",
                             errors={"version": ["应为 current 或 upload / must be current or upload"]})
    upload = get_upload(services, principal, form_id, upload_id, action="template.preview")
    pdf = (preview_upload(services, principal, form_id, upload_id) if which == "upload"
           else preview_current(services, principal, upload.agency, form_id))
    return page_images.page_png(pdf, number - 1)
