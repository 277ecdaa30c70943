"""A case's papers: its letter (告知) and the verification papers of its items' plans, filled from the case and the
catalogue (``prefill.py``), previewed, and issued.

A paper is issued first and then bound to the case's change; if either fails the case stays as it was, and the
drawn number is voided with the reason (``issuing`` does it for a failed issue; here for a case that changed
meanwhile). The voided document stays listed with the case. A letter signed by every party makes the case
``committed``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import issuing, voiding
from ..auth.principal import Principal
from ..errors import (
    ChengnuoError,
    Conflict,
    InvalidData,
    bilingual,
)
from ..forms import get_form
from ..registry.cases import CaseRecord, Change
from ..registry.catalog import CatalogItemRecord
from ..registry.documents import ISSUED, DocumentRecord
from ..runtime import Services
from . import assistance, deadlines
from .prefill import form_data, layers
from .steps import StepResult, apply_change, handled_case, require_state, today_of
from .vocabulary import (
    LETTER_FORM,
    VERIFICATION_FORMS,
)

log = logging.getLogger(__name__)


# --- documents: 告知 and 核查 ---------------------------------------------------------------------------


def _case_item(services: Services, case: CaseRecord, item_id: str | None, candidates: list[dict[str, Any]]) -> CatalogItemRecord:
    if not item_id:
        if len(candidates) != 1:
            raise InvalidData({"item": [bilingual("办件有多个事项，请指明事项编号", "the case has several items: name the item")]})
        item_id = candidates[0]["id"]
    if item_id not in {item["id"] for item in candidates}:
        raise InvalidData({"item": [bilingual("这个事项不属于本办件，或不用此表单核查", "not an item of this case, or not verified with this form")]})
    return services.catalog.get(item_id)


def _letters(documents: list[DocumentRecord], form: str) -> list[DocumentRecord]:
    return [d for d in documents if d.form == form and d.status in ISSUED]


def _letter_data(services: Services, case: CaseRecord, item_id: str) -> dict[str, Any]:
    for document in _letters(services.cases.documents(case.id), LETTER_FORM[case.commitment_type]):
        if any(entry.get("id") == item_id for entry in document.catalog_items or ()):
            return dict(document.data)
    return {}


def _paper(services: Services, principal: Principal, case_id: str, form: str,
           item_id: str | None) -> tuple[CaseRecord, CatalogItemRecord, dict[str, Any]]:
    """The case, the item and the letter's data a paper of ``form`` would be filled from, if its state allows it now."""
    case = handled_case(services, principal, case_id)
    get_form(form)
    if form == LETTER_FORM[case.commitment_type]:
        require_state(case, ("credit_checked", "notified"), "再发告知承诺书", "issue its letter")
        live = {entry["id"] for d in _letters(services.cases.documents(case.id), form) for entry in (d.catalog_items or ())}
        pending = [item for item in case.items if item["id"] not in live]
        if not pending:
            raise Conflict("本办件的告知承诺书都已发出（作废后才能重发）", "every letter of this case is issued (void one to issue it again)",
                           code="case_state")
        return case, _case_item(services, case, item_id, pending), {}
    plans = [(entry, services.catalog.version(entry["id"], entry["version"])) for entry in case.items]
    fitting = [entry for entry, record in plans if form in VERIFICATION_FORMS.get(record.data["verification"]["method"], ())]
    if not fitting:
        raise InvalidData({"form": [bilingual("本办件事项的核查方式不用这种表单", "the case's items are not verified with this form")]})
    require_state(case, ("decided", "verifying", "rectifying"), "开始核查（须先作出准予决定）", "start a verification (decide first)")
    item = _case_item(services, case, item_id, fitting)
    return case, item, {"letter": _letter_data(services, case, item.id)}


@dataclass(frozen=True)
class Paper:
    """A paper as the case would fill it: ``fixed`` by the case and the catalogue, ``defaults`` a clerk may change;
    ``locked`` names every field the clerk may not fill, also those the case leaves out on purpose (no proxy)."""

    case: CaseRecord
    form: str
    item: CatalogItemRecord
    fixed: dict[str, Any]
    defaults: dict[str, Any]
    locked: frozenset[str]


def prefill(services: Services, principal: Principal, case_id: str, form: str, item_id: str | None) -> Paper:
    """What ``issue_document`` would fill in, for the page that opens the form; raises what it raises before issuing."""
    case, item, context = _paper(services, principal, case_id, form, item_id)
    fixed, defaults = layers(form, case, item.data, services.agencies.get(case.agency), today_of(services), context)
    return Paper(case, form, item, {k: v for k, v in fixed.items() if v is not None}, defaults, frozenset(fixed))


def preview_document(services: Services, principal: Principal, case_id: str, form: str, item_id: str | None,
                     data: Mapping[str, Any] | None) -> bytes:
    """The paper as ``issue_document`` would issue it, as a 样稿 (no number drawn, nothing recorded)."""
    case, item, context = _paper(services, principal, case_id, form, item_id)
    raw = form_data(form, case, item.data, services.agencies.get(case.agency), today_of(services), data, context)
    return issuing.preview(services, form, raw, principal=principal, agency_id=case.agency)


def issue_document(services: Services, principal: Principal, case_id: str, form: str, item_id: str | None,
                   data: Mapping[str, Any] | None, *, idempotency_key: str | None = None, request_id: str | None = None) -> StepResult:
    """Issues ``form`` for the case, filled from the case and its catalogue item: the case's letter (告知) while the
    credit check has passed, or a verification paper of the item's plan (核查) once decided.

    Raises NotFound, Forbidden, Conflict (the state does not allow it), InvalidData, and what ``issuing.issue`` raises."""
    case, item, context = _paper(services, principal, case_id, form, item_id)
    letter_form = LETTER_FORM[case.commitment_type]
    raw = form_data(form, case, item.data, services.agencies.get(case.agency), today_of(services), data, context)
    provenance = issuing.Provenance(case_id=case.id, catalog_items=({"id": item.id, "version": item.version},))
    result = issuing.issue(services, form, raw, principal=principal, agency_id=case.agency, idempotency_key=idempotency_key,
                           request_id=request_id, provenance=provenance)
    document = result.document
    if result.replayed:
        return StepResult(services.cases.get(case.id), document)
    if form == letter_form:
        change = Change(state="notified", done=[("letter", None)], facts={"letters": {**case.facts.get("letters", {}), item.id: document.id}})
        step, event = "letter", "case.notified"
    else:
        added = []
        if form == "assistance-request-written":
            added.append(deadlines.working("assistance_reply", dt.date.fromisoformat(raw["letter_date"]), int(raw["reply_days"]),
                                           ref=document.id))
        change = Change(state="verifying" if case.state == "decided" else None, deadlines=added)
        step, event = "verification_document", "case.verification_started"
    try:
        updated = apply_change(services, principal.actor, case, change, step, event,
                         {"document": document.id, "form": form, "serial": document.serial, "document_number": document.number,
                          "item": {"id": item.id, "version": item.version}})
    except Conflict:
        voiding.void(services, principal, document.id, "办件已被同时处理，此文书未计入办件 / the case changed meanwhile", force=True)
        raise
    if form in assistance.REQUEST_FORMS:
        assistance.record_request(services, principal.actor, updated, document, raw)
    return StepResult(updated, document)


def on_document_completed(services: Services, actor: str, document: DocumentRecord) -> None:
    """A case's letter is signed by every party: once every item's letter is, the case is ``committed`` (承诺). A
    涉企经营许可 is then decided on the spot (004 五(四)): its decision is due the same day. Never raises."""
    if not document.case_id:
        return
    try:
        case = services.cases.get(document.case_id)
        letter_form = LETTER_FORM[case.commitment_type]
        if document.form != letter_form or case.state != "notified":
            return
        signed = {entry["id"] for d in services.cases.documents(case.id) if d.form == letter_form and d.status == "completed"
                  for entry in (d.catalog_items or ())}
        if not all(item["id"] in signed for item in case.items):
            return
        today = today_of(services)
        added = [deadlines.working("decision", today, 0)] if case.commitment_type == "permit" else []
        apply_change(services, actor, case, Change(state="committed", deadlines=added, facts={"committed_on": today.isoformat()}),
               "committed", "case.committed", {"document": document.id})
    except ChengnuoError as exc:
        log.warning("case of document %s not advanced after its signature: %s", document.id, exc.message)
    except Exception:
        log.exception("case of document %s not advanced after its signature", document.id)


