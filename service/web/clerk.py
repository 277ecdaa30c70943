"""Pages for window clerks: the forms, a form's page (preview, issue), the documents (search, download,
verify, void). Signed-in people only; every page calls the same functions as the API."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    redirect,
    render_template,
    request,
    url_for,
)

from .. import documents, issuing, signing_flow, signing_links, voiding
from ..auth.http import client_address, csrf_token, current_principal
from ..auth.principal import Principal
from ..errors import ChengnuoError, InvalidData, InvalidRequest, NotFound
from ..evidence import evidence
from ..forms import CATALOGUE, get_form
from ..forms.jsonschema import sample
from ..http.downloads import file_response
from ..http.errors import status_of
from ..http.report_page import render_evidence_html
from . import formbuilder
from .staff_pages import services, signed_in_only

bp = Blueprint("clerk", __name__, template_folder="templates")
signed_in_only(bp)
PER_PAGE = 20


def _page(template: str, status: int = 200, **context) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    return render_template(template, principal=current_principal(), csrf_token=csrf_token(), **context), status


@bp.get("/forms")
def forms() -> tuple[str, int]:
    principal: Principal = current_principal()  # type: ignore[assignment]
    visible = [spec for spec in CATALOGUE.values() if principal.uses(spec.id)]
    return _page("forms.html", forms=visible)


def _form_page(form_id: str, values: dict, errors: dict, status: int = 200, message: ChengnuoError | None = None) -> tuple[str, int]:
    spec = get_form(form_id)
    principal: Principal = current_principal()  # type: ignore[assignment]
    agencies = [a for a in services().agencies.by_id.values() if principal.acts_for(a.id)]
    fields = formbuilder.form_fields(spec.schema)
    labels = {path: formbuilder.label_for(fields, path) for path in errors}
    return _page("form.html", status, spec=spec, fields=fields, values=values, errors=errors, labels=labels,
                 row_count=formbuilder.row_count, message=message, agencies=agencies,
                 agency=values.get("_agency") or principal.default_agency() or services().agencies.default.id)


@bp.get("/forms/<form_id>")
def form(form_id: str) -> tuple[str, int]:
    spec = get_form(form_id)
    values = formbuilder.flatten(sample(spec)) if request.args.get("sample") else {}
    return _form_page(form_id, values, {})


@bp.post("/forms/<form_id>")
def submit(form_id: str) -> Response | tuple[str, int]:
    spec = get_form(form_id)
    fields = formbuilder.form_fields(spec.schema)
    values = formbuilder.page_values(request.form)
    agency = request.form.get("_agency") or None
    action = request.form.get("_action", "issue")
    if action.startswith(("add:", "remove:")):
        values = formbuilder.apply_action(values, action)
        return _form_page(form_id, {**values, "_agency": agency or ""}, {})
    data = formbuilder.to_data(fields, values)
    principal: Principal = current_principal()  # type: ignore[assignment]
    try:
        if action == "preview":
            pdf = issuing.preview(services(), form_id, data, principal=principal, agency_id=agency)
            response = Response(pdf, mimetype="application/pdf")
            response.headers["Content-Disposition"] = f'inline; filename="{form_id}-preview.pdf"'
            return response
        result = issuing.issue(services(), form_id, data, principal=principal, agency_id=agency)
    except InvalidData as exc:
        return _form_page(form_id, {**values, "_agency": agency or ""}, exc.errors, 422, exc)
    except ChengnuoError as exc:
        return _form_page(form_id, {**values, "_agency": agency or ""}, {}, status_of(exc), exc)
    return redirect(url_for("clerk.document", document_id=result.document.id, issued=1))


@bp.get("/documents")
def document_list() -> tuple[str, int]:
    principal: Principal = current_principal()  # type: ignore[assignment]
    forms = {id: spec for id, spec in CATALOGUE.items() if principal.uses(id)}
    try:
        result = documents.search(services(), principal, documents.parse_query(request.args), per_page=PER_PAGE)
    except InvalidRequest as exc:
        return _page("documents.html", 400, result=documents.SearchResult([], 0, 1, 1), query=request.args, forms=forms, error=exc)
    return _page("documents.html", result=result, query=request.args, forms=forms, error=None)


@bp.get("/documents/<document_id>")
def document(document_id: str) -> tuple[str, int]:
    principal: Principal = current_principal()  # type: ignore[assignment]
    record = documents.get_document(services(), principal, document_id)
    return _document_page(record, 200, issued=request.args.get("issued") == "1",
                          may_void=principal.role in ("supervisor", "operator") and record.issued)


def _document_page(record, status: int, **context) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    principal: Principal = current_principal()  # type: ignore[assignment]
    detail = documents.detail(services(), record)
    turn = next((p for p in detail.parties if p.state == "waiting"), None)  # whose turn it is
    staff = principal.role in ("clerk", "supervisor") and record.status == "awaiting_signatures" and turn is not None
    return _page("document.html", status, record=detail, spec=CATALOGUE.get(record.form),
                 agency=services().agencies.by_id.get(record.agency), state=documents.registry_state(services(), record),
                 may_sign=turn if staff and turn.staff else None, may_open_window=turn if staff and not turn.staff else None,
                 timeline=evidence(services(), principal, record.id).events, **context)


@bp.post("/documents/<document_id>/window-signing")
def window_signing(document_id: str) -> Response | tuple[str, int]:
    """Opens the signing screen at the window for the party whose turn it is, once the clerk confirms the ID check."""
    principal: Principal = current_principal()  # type: ignore[assignment]
    try:
        link = signing_links.create_link(services(), principal, document_id, request.form.get("party"), mode="window",
                                         identity_checked=request.form.get("identity_checked") == "yes")
    except ChengnuoError as exc:
        record = documents.get_document(services(), principal, document_id)
        return _document_page(record, status_of(exc), issued=False, may_void=False, sign_error=exc)
    return redirect(f"/sign/{link.token}")


@bp.get("/documents/<document_id>/evidence")
def evidence_page(document_id: str) -> Response:
    """The printable 签署证明 of the document."""
    return Response(render_evidence_html(evidence(services(), current_principal(), document_id)), mimetype="text/html")  # type: ignore[arg-type]


@bp.post("/documents/<document_id>/sign")
def sign(document_id: str) -> Response | tuple[str, int]:
    """The signed-in staff member signs their party on the document page, entering their password again."""
    principal: Principal = current_principal()  # type: ignore[assignment]
    try:
        signing_flow.sign_as_staff(services(), principal, document_id, request.form.get("party"), request.form.get("password", ""),
                                   signing_flow.Client(client_address(), request.headers.get("User-Agent", "")))
    except ChengnuoError as exc:
        record = documents.get_document(services(), principal, document_id)
        return _document_page(record, status_of(exc), issued=False, may_void=False, sign_error=exc)
    return redirect(url_for("clerk.document", document_id=document_id))


@bp.get("/documents/<document_id>/<kind>")  # pdf | docx
def download(document_id: str, kind: str) -> Response:
    if kind not in ("pdf", "docx"):
        raise NotFound("没有这种下载", "no such download", code="not_found")
    return file_response(*documents.document_file(services(), current_principal(), document_id, kind), kind)  # type: ignore[arg-type]


@bp.post("/documents/<document_id>/void")
def void(document_id: str) -> Response | tuple[str, int]:
    principal: Principal = current_principal()  # type: ignore[assignment]
    reason = request.form.get("reason", "")
    try:
        if request.form.get("confirm") != "yes":
            raise InvalidData({"reason": ["请勾选确认框后再作废 / tick the confirmation box to void"]})
        voiding.void(services(), principal, document_id, reason)
    except InvalidData as exc:
        record = documents.get_document(services(), principal, document_id)
        return _document_page(record, 422, issued=False, may_void=True, void_error=exc.errors["reason"][0], reason=reason)
    return redirect(url_for("clerk.document", document_id=document_id))
