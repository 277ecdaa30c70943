"""How the reform is going (000 六(三); 002 六(四)): for one agency and a period of receipt — or the whole service, for
administrators — cases by kind of commitment, item and outcome; the share handled by commitment instead of
certificates, and why the rest went by the ordinary procedure; commitments found false; deadlines met and missed;
the working days from receipt to decision. The database counts (``registry/statistics.py``); this module names,
labels and exports the figures (JSON, CSV, XLSX). Nothing in them is personal: counts only.

A deadline is met when done on or before its day, missed when done later or still open past it. The time to a
decision is the number of working days after the day of receipt up to the day of decision (the same day: 0), so that
``workdays.add_working_days(received, n)`` is the decision day when that is a working day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .. import query_params
from ..auth.principal import Principal
from ..errors import Forbidden, InvalidRequest, bilingual
from ..registry.statistics import Scope, aggregates
from ..runtime import Services
from ..workdays import is_working_day
from .deadlines import KINDS as DEADLINE_KINDS
from .vocabulary import COMMITMENT_TYPES, CREDIT_RESULTS, OUTCOMES

READERS = ("clerk", "supervisor", "admin", "operator")
MAX_DAYS = 1830  # about five years: a period's bound
MAX_AGENCY = 64
PROCEDURES = {"commitment": "告知承诺（免提交证明）", "ordinary": "一般程序（提交证明）"}
OPEN = "open"  # the outcome key of a case not closed yet
OUTCOME_LABELS = {**OUTCOMES, OPEN: "未结案"}
REASONS = {**{k: f"信用核查：{v}" for k, v in CREDIT_RESULTS.items() if k != "good"}, "withdrawn": "申请人撤回承诺", "other": "其他"}
DEADLINE_STATES = {"met": "按时办结", "late": "逾期办结", "overdue": "逾期未办", "open": "未到期"}
BINS: tuple[tuple[int, int | None, str], ...] = ((0, 0, "当日"), (1, 1, "1"), (2, 2, "2"), (3, 3, "3"), (4, 5, "4–5"),
                                                 (6, 10, "6–10"), (11, 20, "11–20"), (21, None, "21 以上"))


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class DeadlineFigures:
    kind: str
    label: str
    met: int
    late: int
    overdue: int
    open: int

    @property
    def missed(self) -> int:
        return self.late + self.overdue


@dataclass(frozen=True)
class DecisionDays:
    cases: int
    median: float | None
    mean: float | None
    max: int | None
    exact: bool  # False: a period crossed a year whose holidays are not published (counted Monday to Friday)
    histogram: tuple[Count, ...]


@dataclass(frozen=True)
class Statistics:
    agency: str | None  # None: the whole service
    agency_name: str
    since: dt.date
    until: dt.date
    today: dt.date
    cases: int
    by_commitment_type: tuple[Count, ...]
    by_item: tuple[Count, ...]
    by_outcome: tuple[Count, ...]
    commitment: int
    ordinary: int
    ordinary_reasons: tuple[Count, ...]
    false_commitments: int  # closed on a false commitment or on materials not supplied (失信)
    false_by_outcome: tuple[Count, ...]
    false_found_open: int  # found false, not closed yet
    deadlines: tuple[DeadlineFigures, ...]
    decision_days: DecisionDays

    @property
    def commitment_share(self) -> float | None:
        """The share of cases handled by commitment instead of certificates, 0–1 (None: no cases)."""
        return self.commitment / self.cases if self.cases else None

    def as_dict(self) -> dict[str, Any]:
        counts = lambda values: [asdict(c) for c in values]
        return {
            "agency": self.agency, "agency_name": self.agency_name, "from": self.since, "to": self.until,
            "today": self.today, "cases": self.cases,
            "by_commitment_type": counts(self.by_commitment_type), "by_item": counts(self.by_item), "by_outcome": counts(self.by_outcome),
            "procedure": {"commitment": self.commitment, "ordinary": self.ordinary, "commitment_share": self.commitment_share,
                          "ordinary_reasons": counts(self.ordinary_reasons)},
            "false_commitments": {"total": self.false_commitments, "by_outcome": counts(self.false_by_outcome),
                                  "found_not_closed": self.false_found_open},
            "deadlines": [{**asdict(d), "missed": d.missed} for d in self.deadlines],
            "decision_days": {**asdict(self.decision_days), "histogram": counts(self.decision_days.histogram)},
        }


@dataclass(frozen=True)
class Request:
    agency: str | None
    since: dt.date
    until: dt.date


# --- the parameters and who may read them ------------------------------------------------------------------------


def parse_request(services: Services, principal: Principal, args: Mapping[str, str]) -> Request:
    """``agency`` (absent: the caller's own, or the whole service for an administrator), ``from`` and ``to`` (the
    period of receipt; by default this year up to today; at most MAX_DAYS long). Raises Forbidden (a role that may not
    read statistics, or another agency's) and InvalidRequest naming each bad parameter."""
    if principal.role not in READERS:
        raise Forbidden("您的角色不能查看统计", f"the role {principal.role} cannot read statistics")
    errors: dict[str, list[str]] = {}
    agency = (args.get("agency") or "").strip() or None
    if agency is not None and (len(agency) > MAX_AGENCY or agency not in services.agencies.by_id):
        errors["agency"] = [bilingual("没有这个行政机关", "no such agency")]
        agency = None
    dates = {name: query_params.date_bound(args, name, errors) for name in ("from", "to")}
    today = services.now().date()
    until = dates.get("to") or today
    since = dates.get("from") or min(until, today).replace(month=1, day=1)
    if "from" not in errors and "to" not in errors:
        if since > until:
            errors["to"] = [bilingual("截止日期不能早于起始日期", "the end must not come before the start")]
        elif (until - since).days >= MAX_DAYS:
            errors["from"] = [bilingual(f"统计期间最长 {MAX_DAYS} 天", f"a period is at most {MAX_DAYS} days")]
    if errors:
        raise InvalidRequest("统计条件有误", "bad statistics parameters", errors=errors)
    if agency is None and principal.agencies is not None:
        agency = principal.default_agency()
        if agency is None:
            raise InvalidRequest("请选择行政机关", "name the agency", errors={"agency": [bilingual("请选择行政机关", "name the agency")]})
    if agency is not None and not principal.acts_for(agency):
        raise Forbidden(f"无权查看行政机关 {agency} 的统计", f"not allowed to read the statistics of agency {agency}")
    return Request(agency, since, until)


# --- the figures -----------------------------------------------------------------------------------------------


def working_days_between(start: dt.date, end: dt.date) -> tuple[int, bool]:
    """The working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``), and
    whether every day's status is known."""
    days, exact, day = 0, True, start
    while day < end:
        day += dt.timedelta(days=1)
        working, known = is_working_day(day)
        days += working
        exact = exact and known
    return days, exact


def _decision_days(pairs: Mapping[tuple[str, str], int]) -> DecisionDays:
    counts: dict[int, int] = {}
    exact = True
    for (received, decided), n in pairs.items():
        days, known = working_days_between(dt.date.fromisoformat(received), dt.date.fromisoformat(decided))
        counts[days] = counts.get(days, 0) + n
        exact = exact and known
    total = sum(counts.values())
    histogram = tuple(Count(str(low) if high == low else f"{low}-{'' if high is None else high}", label,
                            sum(n for d, n in counts.items() if d >= low and (high is None or d <= high)))
                      for low, high, label in BINS)
    if not total:
        return DecisionDays(0, None, None, None, exact, histogram)
    return DecisionDays(total, _median(counts, total), round(sum(d * n for d, n in counts.items()) / total, 2), max(counts), exact, histogram)


def _median(counts: Mapping[int, int], total: int) -> float:
    """The median of many values given as value → count, without listing them."""
    wanted, seen, found = ((total - 1) // 2, total // 2), 0, []
    for value in sorted(counts):
        for position in wanted:
            if seen <= position < seen + counts[value]:
                found.append(value)
        seen += counts[value]
    return (found[0] + found[-1]) / 2


def compute(services: Services, request: Request) -> Statistics:
    """The figures for the request (already authorized by ``parse_request``)."""
    today = services.now().date()
    found = aggregates(services.cases.engine, Scope(request.agency, request.since, request.until), today)
    reasons: dict[str, int] = {}
    for (result, withdrawn), n in found.ordinary_reasons.items():
        key = "withdrawn" if withdrawn else result if result in REASONS else "other"
        reasons[key] = reasons.get(key, 0) + n
    items = sorted(found.items.items(), key=lambda entry: (-entry[1][2], entry[1][0]))
    outcome_of = lambda values: tuple(Count(k, OUTCOME_LABELS[k], values.get(None if k == OPEN else k, 0))
                                      for k in OUTCOME_LABELS)
    tallies = {t.kind: t for t in found.deadlines}
    return Statistics(
        agency=request.agency,
        agency_name=services.agencies.get(request.agency).name if request.agency else "全部行政机关",
        since=request.since, until=request.until, today=today, cases=found.total,
        by_commitment_type=tuple(Count(k, v, found.by_type.get(k, 0)) for k, v in COMMITMENT_TYPES.items()),
        by_item=tuple(Count(item_id, name, n) for item_id, (name, _, n) in items),
        by_outcome=outcome_of(found.by_outcome),
        commitment=found.by_procedure.get("commitment", 0), ordinary=found.by_procedure.get("ordinary", 0),
        ordinary_reasons=tuple(Count(k, v, reasons.get(k, 0)) for k, v in REASONS.items()),
        false_commitments=sum(found.false_by_outcome.values()),
        false_by_outcome=tuple(c for c in outcome_of(found.false_by_outcome) if c.count),
        false_found_open=found.false_found_open,
        deadlines=tuple(DeadlineFigures(kind, label, t.met, t.late, t.overdue, t.open)
                        for kind, (label, _) in DEADLINE_KINDS.items() if (t := tallies.get(kind)) is not None),
        decision_days=_decision_days(found.decisions),
    )


def statistics(services: Services, principal: Principal, args: Mapping[str, str]) -> Statistics:
    """The use case: read the parameters, check the caller may see them, count. Raises Forbidden, InvalidRequest."""
    return compute(services, parse_request(services, principal, args))


# --- the same figures as rows: CSV and XLSX ---------------------------------------------------------------------

COLUMNS = ("section", "section_label", "key", "label", "value")
SECTIONS = {
    "scope": "统计范围", "cases": "办件总数", "commitment_type": "按承诺类型", "item": "按事项", "outcome": "按办理结果",
    "procedure": "告知承诺与一般程序", "ordinary_reason": "按一般程序办理的原因", "false_commitment": "承诺不实（失信）",
    **{f"deadline_{state}": f"期限：{label}" for state, label in DEADLINE_STATES.items()},
    "decision_days": "受理至决定（工作日）", "decision_days_histogram": "受理至决定用时分布（工作日）",
}


def rows(figures: Statistics) -> list[tuple[str, str, str, str, str | int | float]]:
    """Every figure as (section, its label, key, label, value): the CSV's and the XLSX's rows."""
    out: list[tuple[str, str, str, str, str | int | float]] = []

    def add(section: str, key: str, label: str, value: str | float | None) -> None:
        out.append((section, SECTIONS[section], key, label, "" if value is None else value))

    add("scope", "agency", "行政机关", figures.agency or "*")
    add("scope", "agency_name", "行政机关名称", figures.agency_name)
    add("scope", "from", "受理日期自", figures.since.isoformat())
    add("scope", "to", "受理日期至", figures.until.isoformat())
    add("scope", "today", "统计日", figures.today.isoformat())
    add("cases", "total", "办件总数", figures.cases)
    for section, counts in (("commitment_type", figures.by_commitment_type), ("item", figures.by_item), ("outcome", figures.by_outcome)):
        for c in counts:
            add(section, c.key, c.label, c.count)
    add("procedure", "commitment", PROCEDURES["commitment"], figures.commitment)
    add("procedure", "ordinary", PROCEDURES["ordinary"], figures.ordinary)
    share = figures.commitment_share
    add("procedure", "commitment_share_percent", "告知承诺占比（%）", None if share is None else round(share * 100, 1))
    for c in figures.ordinary_reasons:
        add("ordinary_reason", c.key, c.label, c.count)
    add("false_commitment", "total", "承诺不实结案", figures.false_commitments)
    for c in figures.false_by_outcome:
        add("false_commitment", c.key, c.label, c.count)
    add("false_commitment", "found_not_closed", "已查实不实、尚未结案", figures.false_found_open)
    for d in figures.deadlines:
        for state in DEADLINE_STATES:
            add(f"deadline_{state}", d.kind, d.label, getattr(d, state))
    days = figures.decision_days
    add("decision_days", "cases", "已决定办件数", days.cases)
    add("decision_days", "median", "中位数", days.median)
    add("decision_days", "mean", "平均数", days.mean)
    add("decision_days", "max", "最长", days.max)
    add("decision_days", "exact", "节假日安排均已公布", "true" if days.exact else "false")
    for c in days.histogram:
        add("decision_days_histogram", c.key, c.label, c.count)
    return out


def as_csv(figures: Statistics) -> bytes:
    """UTF-8 with a BOM (so that Excel opens it right), one figure a row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(figures))
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def as_xlsx(figures: Statistics) -> bytes:
    """One sheet of the same rows as the CSV, its header bold and frozen."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "统计"
    sheet.append(["分组代码 section", "分组", "代码 key", "名称", "数值 value"])
    for row in rows(figures):
        sheet.append(list(row))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDE", (24, 26, 38, 40, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(figures: Statistics, extension: str) -> str:
    return f"statistics-{figures.agency or 'all'}-{figures.since.isoformat()}-{figures.until.isoformat()}.{extension}"
