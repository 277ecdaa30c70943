"""Pages for assistance between agencies: the requests addressed to the clerk's agency, and one request with the
form that answers it — the reply (the agency asked, on the service), or the outside agency's reply or the visit's
outcome (the agency that asked). Each calls the same use case as the API (``cases/assistance.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..auth.http import csrf_token
from ..cases import assistance, inputs
from ..errors import ChengnuoError, InvalidData, PdfTooLarge
from ..http.errors import status_of
from . import formbuilder
from .staff_pages import principal, services, signed_in_only

bp = Blueprint("assistance_pages", __name__, template_folder="templates")
signed_in_only(bp)

_LABELS = {"finding": assistance.FINDINGS}
KINDS = {"written": "书面核查（一）", "visit": "派员调查核实（二）"}


@dataclass(frozen=True)
class AnswerForm:
    key: str
    action: str
    title: str
    fields: list[formbuilder.Field]
    note: str = ""
    upload: bool = False


def _forms(record: Any) -> list[AnswerForm]:
    """The answers the signed-in clerk may give to ``record`` now."""
    if record.state != "open":
        return []
    me = principal()
    forms = []
    base = f"/assistance/{record.id}"
    if record.to_agency and me.acts_for(record.to_agency) and me.role in ("clerk", "supervisor"):
        forms.append(AnswerForm("reply", f"{base}/reply", "出具行政协助回复函 / Reply",
                                formbuilder.labelled_fields(inputs.AssistanceReplySchema, _LABELS),
                                "回复函由本机关盖章、按本机关函字编号，申请人、承诺事项和来函文号取自来函。"))
    if me.acts_for(record.from_agency) and me.role in ("clerk", "supervisor"):
        if record.to_agency is None:
            forms.append(AnswerForm("external", f"{base}/external-reply", "登记对方的书面答复 / Record the reply",
                                    formbuilder.labelled_fields(inputs.ExternalReplySchema, _LABELS),
                                    "对方不在本服务上：登记其回复函的文号、日期和核实结论；有签章的 PDF 可一并上传核验。", upload=True))
        if record.kind == "visit":
            forms.append(AnswerForm("visit", f"{base}/visit", "登记调查核实结果 / Record the visit",
                                    formbuilder.labelled_fields(inputs.VisitOutcomeSchema, _LABELS)))
    return forms


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, principal=principal(), csrf_token=csrf_token(), findings=assistance.FINDINGS, kinds=KINDS,
                           agencies={a.id: a.name for a in services().agencies.by_id.values()}, **context), status


@bp.get("/assistance")
def index() -> tuple[str, int]:
    state = request.args.get("state") if request.args.get("state") in ("open", "answered") else None
    return _page("assistance_list.html", requests=assistance.incoming(services(), principal(), state=state), state=state)


def _detail(request_id: str, status: int = 200, *, failed: str | None = None, values: dict[str, str] | None = None,
            errors: dict[str, list[str]] | None = None, message: Any = None) -> tuple[str, int]:
    record = assistance.readable(services(), principal(), request_id)
    document = assistance.request_document(services(), record)
    fixed = assistance.reply_fixed_if_answering(services(), principal(), record)
    return _page("assistance_detail.html", status, record=record, document=document, fixed=fixed, forms=_forms(record), failed=failed,
                 values=values or {}, errors=errors or {}, message=message)


@bp.get("/assistance/<request_id>")
def show(request_id: str) -> tuple[str, int]:
    return _detail(request_id)


def _answer(request_id: str, key: str, call: Callable[[dict[str, Any]], Any], schema: type) -> Response | tuple[str, int]:
    form = next((f for f in _forms(assistance.readable(services(), principal(), request_id)) if f.key == key), None)
    values = formbuilder.page_values(request.form)
    if form is None:
        return _detail(request_id, 409, message=ChengnuoError("此请求现在不能这样答复", "this request cannot be answered that way now"))
    try:
        call(inputs.parse(schema, formbuilder.to_data(form.fields, values)))
    except InvalidData as exc:
        return _detail(request_id, 422, failed=key, values=values, errors=exc.errors, message=exc)
    except ChengnuoError as exc:
        return _detail(request_id, status_of(exc), failed=key, values=values, message=exc)
    return redirect(url_for("assistance_pages.show", request_id=request_id, done=key))


@bp.post("/assistance/<request_id>/reply")
def reply(request_id: str) -> Response | tuple[str, int]:
    return _answer(request_id, "reply", lambda body: assistance.reply(services(), principal(), request_id, body), inputs.AssistanceReplySchema)


@bp.post("/assistance/<request_id>/external-reply")
def external_reply(request_id: str) -> Response | tuple[str, int]:
    upload = request.files.get("file")
    pdf = upload.stream.read(services().settings.verify_max_bytes + 1) if upload and upload.filename else None
    try:
        return _answer(request_id, "external",
                       lambda body: assistance.record_external_reply(services(), principal(), request_id, body, pdf), inputs.ExternalReplySchema)
    except PdfTooLarge as exc:
        return _detail(request_id, 413, failed="external", message=exc)


@bp.post("/assistance/<request_id>/visit")
def visit(request_id: str) -> Response | tuple[str, int]:
    return _answer(request_id, "visit", lambda body: assistance.record_visit(services(), principal(), request_id, body),
                   inputs.VisitOutcomeSchema)
