"""Credit information for the credit platform: 信用承诺信息 and 践诺信息 of an agency's commitments, reported within
7 working days of the decision (晋城 002 四(七); 义马 000 四(五); 扎兰屯 003 三.4).

Each commitment-procedure case with a decision has up to two rows:

- 信用承诺信息 (``commitment``): once decided — who committed, to what, when, and how it is to be verified;
- 践诺信息 (``fulfilment``): once a verification result or the closure says how it went — the result, whether the
  commitment was kept, and the 失信情形 when it was not.

Ordinary-procedure cases are not commitments and have no rows. ``COLUMNS`` is the documented column set: Chinese
headers in the files, English codes in the JSON.

An export of one agency and a period of decision dates holds the rows that are new or changed since they were last
exported (``full``: every row of the period). The rows handed out are marked (their hash and the export's id) in
the transaction that records the export, so a second export of the same period is empty; each export is audited
(who, agency, period, how many rows — never the rows), and every case it covers has its ``credit_report`` deadline
met through the case's own change, so its history shows the report. Only supervisors (their own agency),
administrators and the operator may export: an export is personal data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..auth.principal import Principal
from ..errors import Conflict, Forbidden, InvalidData, bilingual
from ..forms.fields import Choice, Date, Flag, FormSchema, Text
from ..registry.cases import CaseRecord, Change
from ..registry.credit_exports import CreditExportRecord, CreditExportStore, RowMark
from ..runtime import Services
from . import queries
from .applicants import APPLICANT_TYPES
from .catalogue import METHODS
from .steps import apply_change
from .vocabulary import COMMITMENT_TYPES, OUTCOMES, RESULTS

log = logging.getLogger(__name__)

KINDS = {"commitment": "信用承诺信息", "fulfilment": "践诺信息"}

# (code, header): the code names the value in the JSON, the header heads the column in CSV and XLSX.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("kind", "信息类别"),  # 信用承诺信息 | 践诺信息
    ("subject_name", "主体名称"),
    ("subject_type", "主体类型"),  # 自然人 | 法人或其他组织
    ("subject_id", "统一社会信用代码或身份证号"),
    ("commitment_type", "承诺类型"),
    ("items", "承诺事项"),  # the catalogue items' names, 、-separated
    ("committed_on", "承诺日期"),  # the day the letter was signed by every party
    ("agency", "作出承诺的部门"),  # the agency's name
    ("decided_on", "决定日期"),
    ("verification_method", "核查方式"),  # per item: 免于核查 · 内部核验（系统） · 现场核验 · 行政协助（部门）
    ("verification_result", "核查结果"),  # 践诺信息 only: 属实 · 不实 · 限期整改 · 免于核查
    ("fulfilment", "履约状态"),  # 践诺信息 only: 已履约 · 未履约 · 整改中 · 待核查
    ("breach", "失信情形"),  # 践诺信息 only: the outcome and what was false, when the case closed on a false commitment
    ("case_number", "办件编号"),  # the service's case number, to find the case again
)
CODES = tuple(code for code, _ in COLUMNS)
HEADERS = tuple(header for _, header in COLUMNS)
FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "json": "application/json"}
EXPORTERS = ("supervisor", "admin", "operator")
MAX_DAYS = 3660  # a period of at most ten years: bounded work for one request


# --- the rows of a case -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditRow:
    case_id: str
    kind: str  # commitment | fulfilment
    values: Mapping[str, str]  # by code, every code of COLUMNS

    @property
    def row_hash(self) -> str:
        """What the export marks: the same row exported again has the same hash; any changed value another."""
        return hashlib.sha256(json.dumps([self.kind, dict(self.values)], sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def cells(self) -> list[str]:
        return [self.values[code] for code in CODES]


def _methods(services: Services, case: CaseRecord) -> str:
    parts = []
    for entry in case.items:
        plan = services.catalog.version(entry["id"], entry["version"]).data["verification"]
        label = METHODS.get(plan["method"], plan["method"])
        if plan["method"] == "internal" and plan.get("system"):
            label += f"（{plan['system']}系统）"
        elif plan["method"] == "assistance" and plan.get("agency"):
            label += f"（{plan['agency']}）"
        parts.append(f"{entry['name']}：{label}" if len(case.items) > 1 else label)
    return "；".join(parts)


def _outcome(case: CaseRecord) -> tuple[str, str, str] | None:
    """(核查结果, 履约状态, 失信情形) once the case says how the commitment went; None before."""
    verification = case.facts.get("verification") or {}
    closure = case.facts.get("closure") or {}
    if not verification and not closure:
        return None
    result = RESULTS.get(verification.get("result", ""), "")
    if not result and closure.get("outcome") == "fulfilled":
        result = "免于核查"  # closed as fulfilled without a verification: every item is exempt
    if closure.get("outcome") == "fulfilled":
        status = "已履约"
    elif closure.get("outcome") in ("revoked", "terminated", "returned"):
        status = f"未履约（{OUTCOMES[closure['outcome']]}）"
    else:
        status = {"true": "已履约", "false": "未履约", "rectify": "整改中"}.get(verification.get("result", ""), "待核查")
    record = case.facts.get("false_record") or {}
    breach = f"{record['outcome']}：{record.get('reason', '')}".rstrip("：") if record else ""
    return result, status, breach


def rows_of(services: Services, case: CaseRecord) -> list[CreditRow]:
    """The case's rows: none for an undecided or ordinary-procedure case; its 信用承诺信息 once decided; its 践诺信息
    once a verification result or the closure says how it went."""
    if case.procedure != "commitment" or not case.decided_on:
        return []
    applicant = case.applicant
    common = {
        "subject_name": applicant.get("name", ""), "subject_type": APPLICANT_TYPES.get(applicant.get("type", ""), ""),
        "subject_id": applicant.get("id_number", ""), "commitment_type": COMMITMENT_TYPES.get(case.commitment_type, case.commitment_type),
        "items": "、".join(entry["name"] for entry in case.items), "committed_on": case.facts.get("committed_on", ""),
        "agency": services.agencies.get(case.agency).name, "decided_on": case.decided_on,
        "verification_method": _methods(services, case), "case_number": case.number,
    }
    rows = [CreditRow(case.id, "commitment", {**common, "kind": KINDS["commitment"], "verification_result": "", "fulfilment": "",
                                              "breach": ""})]
    outcome = _outcome(case)
    if outcome is not None:
        result, status, breach = outcome
        rows.append(CreditRow(case.id, "fulfilment", {**common, "kind": KINDS["fulfilment"], "verification_result": result,
                                                      "fulfilment": status, "breach": breach}))
    return rows


# --- files ------------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_csv(rows: list[CreditRow]) -> bytes:
    """UTF-8 with BOM (so that Excel opens it right), the Chinese header row first. A cell that a spreadsheet would
    take for a formula (``=…``, ``+…``, ``-…``, ``@…``) is prefixed with ``'``, so that opening the file runs nothing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow([f"'{cell}" if cell.startswith(_FORMULA_START) else cell for cell in row.cells()])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[CreditRow]) -> bytes:
    """One sheet of rows under the Chinese headers (every cell text: nothing is read as a formula), and a sheet
    naming each column's code."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "信用信息"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row.cells(), start=1):
            cell = sheet.cell(row=number, column=column)
            cell.value = value
            cell.data_type = "s"  # a text, never a formula, whatever it starts with
    for index, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = max(12, len(header) * 2 + 4)
    sheet.freeze_panes = "A2"
    about = book.create_sheet("说明")
    about.append(["列名", "代码", "信息类别"])
    for code, header in COLUMNS:
        about.append([header, code, "践诺信息" if code in ("verification_result", "fulfilment", "breach") else "两类信息"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the export ---------------------------------------------------------------------------------------------------


def _keyed(f: Any, key: str) -> Any:
    f.data_key = key
    return f


class CreditExportRequestSchema(FormSchema):
    """What an export takes: the API's body, the page's form, the command line's options."""

    agency = Text("行政机关", required=False, max_length=64, description="默认：调用者所属的唯一行政机关")
    date_from = _keyed(Date("决定日期自", description="期间的第一天（含）"), "from")
    date_to = _keyed(Date("决定日期至", description="期间的最后一天（含）"), "to")
    format = Choice("格式", list(FORMATS), description="csv（UTF-8，带 BOM）· xlsx · json")
    full = Flag("全部重新导出", default=False, description="true：导出期间内的全部信息，包括已导出且未变化的")


@dataclass(frozen=True)
class CreditExport:
    record: CreditExportRecord
    full: bool
    rows: list[CreditRow] = field(default_factory=list)

    @property
    def filename(self) -> str:
        r = self.record
        return f"credit-{r.agency}-{r.period_from}-{r.period_to}-{r.id[:8]}.{r.format}"

    @property
    def mimetype(self) -> str:
        return FORMATS[self.record.format]

    def headers(self) -> dict[str, str]:
        """What a download of the export carries, for the API and the page alike."""
        headers = {"X-Credit-Export-Id": self.record.id, "X-Credit-Export-Rows": str(self.record.rows)}
        if self.record.format != "json":
            headers["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return headers

    def content(self) -> bytes:
        """The file (CSV or XLSX); for ``json``, the rows as ``as_json`` gives them."""
        if self.record.format == "csv":
            return to_csv(self.rows)
        if self.record.format == "xlsx":
            return to_xlsx(self.rows)
        return json.dumps(self.as_json(), ensure_ascii=False, default=str).encode()

    def as_json(self) -> dict[str, Any]:
        return {"export": asdict(self.record), "full": self.full, "columns": [{"code": c, "header": h} for c, h in COLUMNS],
                "rows": [{"case_id": row.case_id, "kind_code": row.kind, **row.values} for row in self.rows]}


def store(services: Services) -> CreditExportStore:
    return CreditExportStore(services.cases.engine)


def authorize_export(principal: Principal, agency_id: str) -> None:
    """Raises Forbidden: only supervisors (of their own agency), administrators and the operator export credit
    information — it is personal data."""
    if principal.role not in EXPORTERS:
        raise Forbidden("只有主管人员和管理员可以导出信用信息", "only supervisors and administrators may export credit information")
    if principal.role == "supervisor" and not principal.acts_for(agency_id):
        raise Forbidden(f"无权导出行政机关 {agency_id} 的信用信息", f"not allowed to export the credit information of agency {agency_id}")


def _agency_of(services: Services, principal: Principal, agency: str | None) -> str:
    """The agency asked for (NotFound if unknown), else the caller's only one; InvalidData when neither."""
    chosen = agency or principal.default_agency()
    if not chosen:
        raise InvalidData({"agency": [bilingual("请选择行政机关", "name the agency")]})
    return services.agencies.get(chosen).id


def export(services: Services, principal: Principal, data: Mapping[str, Any]) -> CreditExport:
    """Exports the agency's rows of the period (``data`` as ``CreditExportRequestSchema`` loads it) that are new or changed
    since last exported (all of them with ``full``), records and audits the export, and meets the ``credit_report``
    deadline of every case it covers. Raises InvalidData (a period that ends before it starts, or too long),
    NotFound (unknown agency), Forbidden, or Conflict (another export ran at the same time; nothing was recorded)."""
    agency = _agency_of(services, principal, data.get("agency"))
    authorize_export(principal, agency)
    date_from, date_to, fmt, full = data["date_from"], data["date_to"], data["format"], bool(data.get("full"))
    if date_to < date_from:
        raise InvalidData({"to": [bilingual("结束日期不能早于开始日期", "the period cannot end before it starts")]})
    if (date_to - date_from).days > MAX_DAYS:
        raise InvalidData({"to": [bilingual("期间不能超过十年", "the period cannot be longer than ten years")]})
    registry = store(services)
    rows = [row for case in registry.decided_cases(agency, date_from, date_to) for row in rows_of(services, case)]
    marks = registry.marks(row.case_id for row in rows)
    chosen = [row for row in rows if full or marks.get((row.case_id, row.kind)) != row.row_hash]
    record = registry.record(agency=agency, period_from=date_from, period_to=date_to, fmt=fmt, actor=principal.actor,
                             now=services.now(), rows=[RowMark(r.case_id, r.kind, r.row_hash, marks.get((r.case_id, r.kind))) for r in chosen])
    services.audit.record(actor=principal.actor, action="credit.export", object=f"credit_export:{record.id}", outcome="success",
                          detail={"agency": agency, "from": record.period_from, "to": record.period_to, "rows": record.rows,
                                  "format": fmt, "full": full})
    log.info("credit export %s of %s (%s – %s): %d rows", record.id, agency, record.period_from, record.period_to, record.rows)
    _report(services, principal, record, chosen)
    return CreditExport(record, full, chosen)


def _report(services: Services, principal: Principal, record: CreditExportRecord, rows: list[CreditRow]) -> None:
    """Each case the export covers: the report noted in its facts and its ``credit_report`` deadline met, by the case's
    own compare-and-set (audited as its ``credit_report`` step). A case changed meanwhile is read again; one that still
    cannot be changed keeps its deadline open (and overdue in time), and the log names its number."""
    today = services.now().date()
    kinds: dict[str, list[str]] = {}
    for row in rows:
        kinds.setdefault(row.case_id, []).append(row.kind)
    for case_id, covered in kinds.items():
        for _attempt in range(3):
            case = services.cases.get(case_id)
            reports = [*case.facts.get("credit_reports", []), {"reported_on": today.isoformat(), "reference": record.id, "kinds": covered}]
            try:
                apply_change(services, principal.actor, case, Change(facts={"credit_reports": reports}, done=[("credit_report", None)],
                                                                      done_on=today),
                             "credit_report", "case.credit_reported", {"reference": record.id, "kinds": covered})
                break
            except Conflict:
                continue
        else:
            log.warning("credit export %s: case %s kept its credit_report deadline open (it kept changing)", record.id, case.number)


def list_exports(services: Services, principal: Principal, agency: str | None = None) -> list[CreditExportRecord]:
    """Earlier exports (never their rows), newest first: of ``agency``, or of every agency the caller may export for.
    Raises Forbidden or NotFound (unknown agency)."""
    if agency is not None:
        agency = services.agencies.get(agency).id
        authorize_export(principal, agency)
        return store(services).list(frozenset({agency}))
    if principal.role not in EXPORTERS:
        raise Forbidden("只有主管人员和管理员可以查看信用信息导出记录", "only supervisors and administrators may see the credit exports")
    return store(services).list(None if principal.role in ("admin", "operator") else principal.agencies)


def overdue_reports(services: Services, principal: Principal, agency: str) -> list[queries.DeadlineRow]:
    """The agency's cases whose credit information is past its 7-working-day deadline and not reported yet.
    Raises Forbidden."""
    authorize_export(principal, agency)
    return queries.deadline_list(services, principal, agency=agency, overdue=True, kinds=("credit_report",))
