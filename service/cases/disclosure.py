"""承诺公示: the commitments the public may read (002 四(八); 004 五(六)), for the page ``/gongshi`` and
``GET /api/v1/disclosures``.

A commitment is shown when all of these hold:

- its letter is completed (every party signed; a voided letter never is) and bound to a case;
- the applicant consented: the letter printed 承诺书公开 (``disclosure.public``: signing it is the consent of the
  letter's 三(三)), or the letter is a 信用承诺书 whose own text says 本《承诺书》同意向社会公开 (主动公示型 五;
  审批替代型 六); a 容缺受理型 letter says no such thing and is never shown;
- the case was decided 准予 on that commitment (not after a withdrawal, by the ordinary procedure);
- every catalogue item of the letter, at the version the letter used, says public and for how many days
  (``disclosure_days``);
- today lies within the period: from the decision date to that many days after it (民法典 第二百零一条: the day
  of the decision is not counted, so an item of 30 days is shown until the 30th day after the decision, inclusive).

Each entry carries the agency, the item, the decision date, the applicant masked as ``applicants.masked`` masks
anyone without rights to the case (a person's name and any ID number or credit code; an organisation keeps its
name), what the applicant committed to, the scope and period as printed, and the letter's public verify link. A
case later closed on a false commitment says so (经核查承诺不实) for the rest of the period. Nothing else of the
case — its number, phone numbers, proxy, the reason given at closure — leaves the service here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import query_params
from ..errors import InvalidRequest, bilingual
from ..registry.cases import CaseRecord
from ..registry.disclosures import decided_letters
from ..registry.documents import DocumentRecord
from ..runtime import Services
from .applicants import masked
from .catalogue import MAX_DISCLOSURE_DAYS

PER_PAGE = 20
MAX_AGENCY = 50
_ITEM_ID = re.compile(r"[0-9a-f-]{36}")

# Letters whose printed text is the consent itself, and the point that says it.
CONSENT_IN_TEXT = {"credit-commitment-disclosure": "五", "credit-commitment-substitution": "六"}
LETTERS_WITH_CONSENT = ("commitment-letter", "business-permit-commitment", *CONSENT_IN_TEXT)

# 信用承诺书（主动公示型通用模板）一至五 (001 郏政务和大数据〔2022〕8号): what that letter commits to, as printed.
OPEN_COMMITMENT = (
    "保证所填报的信息及提供的申请材料均真实、准确、合法、有效。",
    "保证不以欺骗、贿赂等不正当手段取得审批手续。",
    "获得审批手续后，严格按照确定的条件、范围、程序等，规范操作、规范管理，诚实守信，不造假、不失信，不超越审批范围进行活动。",
    "绝不涂改、倒卖、出租、出借审批文件、行政许可证件或者以其他形式非法转让审批文件、行政许可证件。",
    "自觉接受社会各界的监督，依法接受有关行政机关的事中事后监管，并如实提供有关情况和材料。本《承诺书》同意向社会公开，对违反以上承诺所造成的后果，自愿承担相应法律责任。",
)

FALSE_MARKS = {
    "revoked": "经核查承诺不实，已撤销行政决定",
    "terminated": "经核查承诺不实，已终止办理",
    "returned": "经催告逾期未补正容缺材料，已终止退件",
}
FALSE_MARK = "经核查承诺不实"


@dataclass(frozen=True)
class DisclosureQuery:
    agency: str | None = None
    item: str | None = None
    since: dt.date | None = None  # decided on or after
    until: dt.date | None = None  # decided on or before
    page: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class Disclosure:
    """One published commitment, as the public sees it."""

    agency: str
    agency_name: str
    items: tuple[dict[str, str], ...]  # [{id, name, matter}]
    decided_on: dt.date
    shown_until: dt.date  # the last day of publication
    applicant_type: str  # person | organisation
    name: str  # masked for a person
    id_type: str
    id_number: str  # masked
    commitment: tuple[str, ...]
    scope: str
    period: str
    form: str
    number: str | None
    serial: str
    verify_url: str
    false_commitment: bool
    false_mark: str | None
    false_on: str | None


@dataclass(frozen=True)
class DisclosureList:
    entries: list[Disclosure]
    total: int
    page: int
    pages: int
    today: dt.date


def parse_query(services: Services, args: Mapping[str, str]) -> DisclosureQuery:
    """The search from ``agency``, ``item``, ``from``, ``to`` (decision dates, YYYY-MM-DD) and ``page``; raises
    InvalidRequest naming each bad parameter."""
    errors: dict[str, list[str]] = {}
    agency = args.get("agency") or None
    if agency is not None and (len(agency) > MAX_AGENCY or agency not in services.agencies.by_id):
        errors["agency"] = [bilingual("没有这个行政机关", "no such agency")]
    item = args.get("item") or None
    if item is not None and not _ITEM_ID.fullmatch(item):
        errors["item"] = [bilingual("事项编号格式不正确", "not an item id")]
    since, until = (query_params.date_bound(args, name, errors) for name in ("from", "to"))
    if since and until and since > until:
        errors["to"] = [bilingual("决定日期止不能早于决定日期起", "the end of the decision dates is before their start")]
    page = query_params.page(args, errors)
    if errors:
        raise InvalidRequest("查询条件有误", "bad search parameters", errors=errors)
    return DisclosureQuery(agency=agency, item=item, since=since, until=until, page=page)


def _consented(letter: DocumentRecord) -> bool:
    if letter.form in CONSENT_IN_TEXT:
        return True
    return (letter.data.get("disclosure") or {}).get("public") is True


def _granted(case: CaseRecord) -> bool:
    return case.procedure == "commitment" and (case.facts.get("decision") or {}).get("decision") == "grant"


def _commitment(letter: DocumentRecord) -> tuple[str, ...]:
    if letter.form == "credit-commitment-disclosure":
        return OPEN_COMMITMENT
    data = letter.data
    return tuple(data.get("conditions_met") or data.get("permit_conditions") or data.get("substituted") or ())


def _false_mark(case: CaseRecord) -> tuple[str | None, str | None]:
    if not case.false_commitment:
        return None, None
    outcome = (case.facts.get("closure") or {}).get("outcome", "")
    return FALSE_MARKS.get(outcome, FALSE_MARK), (case.facts.get("false_record") or {}).get("on")


class _Items:
    """Catalogue versions, each read once per listing."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.seen: dict[tuple[str, int], Mapping[str, Any]] = {}

    def __call__(self, item_id: str, version: int) -> Mapping[str, Any]:
        key = (item_id, version)
        if key not in self.seen:
            self.seen[key] = self.services.catalog.version(item_id, version).data
        return self.seen[key]


def _entry(services: Services, items: _Items, letter: DocumentRecord, case: CaseRecord, today: dt.date) -> Disclosure | None:
    """The letter's entry, or None when it may not be shown today."""
    if not (letter.status == "completed" and case.decided_on and _granted(case) and _consented(letter) and letter.catalog_items):
        return None
    versions = [items(entry["id"], int(entry["version"])) for entry in letter.catalog_items]
    if not all((v.get("disclosure") or {}).get("public") and v.get("disclosure_days") for v in versions):
        return None
    decided_on = dt.date.fromisoformat(case.decided_on)
    shown_until = decided_on + dt.timedelta(days=min(int(v["disclosure_days"]) for v in versions))
    if not decided_on <= today <= shown_until:
        return None
    printed = letter.data.get("disclosure") or versions[0]["disclosure"]
    holder = masked(case.applicant)
    agency = services.agencies.by_id.get(case.agency)
    mark, marked_on = _false_mark(case)
    return Disclosure(
        agency=case.agency, agency_name=agency.name if agency else case.agency,
        items=tuple({"id": e["id"], "name": v["name"], "matter": v["matter"]} for e, v in zip(letter.catalog_items, versions, strict=True)),
        decided_on=decided_on, shown_until=shown_until,
        applicant_type=holder.get("type", "person"), name=holder.get("name", ""), id_type=holder.get("id_type", ""),
        id_number=holder.get("id_number", ""),
        commitment=_commitment(letter), scope=printed.get("scope") or "", period=printed.get("period") or "",
        form=letter.form, number=letter.number, serial=letter.serial, verify_url=f"{services.settings.base_url}/v/{letter.serial}",
        false_commitment=bool(case.false_commitment), false_mark=mark, false_on=marked_on,
    )


def published(services: Services, query: DisclosureQuery) -> DisclosureList:
    """The commitments published today that match ``query``, by agency name, newest decision first; one page of
    them."""
    today = services.now().date()
    earliest = today - dt.timedelta(days=MAX_DISCLOSURE_DAYS)
    since = max(query.since, earliest) if query.since else earliest
    until = min(query.until, today) if query.until else today
    candidates = decided_letters(services.cases.engine, forms=LETTERS_WITH_CONSENT, decided_from=since, decided_until=until,
                                 agency=query.agency, item=query.item) if since <= until else []
    items = _Items(services)
    entries = [entry for letter, case in candidates if (entry := _entry(services, items, letter, case, today)) is not None]
    if query.item:
        entries = [entry for entry in entries if any(i["id"] == query.item for i in entry.items)]
    entries.sort(key=lambda entry: entry.agency_name)  # stable: newest first within an agency
    start = (query.page - 1) * query.per_page
    return DisclosureList(entries[start:start + query.per_page], len(entries), query.page,
                          max(1, -(-len(entries) // query.per_page)), today)
