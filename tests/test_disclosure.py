"""承诺公示: the public page /gongshi and GET /api/v1/disclosures, over real cases whose letters were issued through
LibreOffice and pyHanko and signed by their parties. Masked personal data, consent, the period, a false
commitment marked, bounded parameters and the rate limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import docx
import pytest

from service import create_app
from service.auth.principal import OPERATOR
from service.cases import catalog_use
from service.errors import InvalidData
from service.runtime import build_services

from .conftest import ROOT, sample
from .test_cases import (
    APPLICANT,
    ENTERPRISE,
    committed_case,
    item_data,
    open_case,
    step,
)
from .test_party_signing import sign, staff
from .test_signing_links import link_for, sign_link

OTHER = {"type": "person", "name": "王建军", "id_type": "居民身份证", "id_number": "140502198811230019", "phone": "13935610087"}
PRIVATE = {"name": "申请人无犯罪记录证明", "disclosure": {"public": False}}


def page(anonymous, query: str = "") -> tuple[int, str]:
    response = anonymous.get(f"/gongshi{query}")
    return response.status_code, response.get_data(as_text=True)


def listed(anonymous, query: str = "") -> dict:
    response = anonymous.get(f"/api/v1/disclosures{query}")
    assert response.status_code == 200, response.json
    return response.json



def decided_case(app, services, client, anonymous, item_id, applicant=APPLICANT) -> dict:
    case = committed_case(app, services, client, anonymous, item_id, applicant)
    return step(client, case["id"], "decision", decision="grant")


def letter_of(case: dict) -> dict:
    return next(d for d in case["documents"] if d["form"] == "commitment-letter")


# --- the catalogue says for how long --------------------------------------------------------------------------------


def test_an_item_that_publishes_says_for_how_many_days_from_the_decision():
    with pytest.raises(InvalidData) as refused:
        catalog_use.load_item({k: v for k, v in item_data().items() if k != "disclosure_days"})
    assert refused.value.errors == {"disclosure_days": [("承诺书公开的，须写明自作出决定之日起公示多少日 / "
                                                         "a published commitment needs the number of days it is published, counted from the decision")]}
    for days in (0, 3651):
        with pytest.raises(InvalidData) as bounded:
            catalog_use.load_item(item_data(disclosure_days=days))
        assert list(bounded.value.errors) == ["disclosure_days"]
    assert catalog_use.load_item(item_data(disclosure_days=3650))["disclosure_days"] == 3650
    private = catalog_use.load_item(item_data(**PRIVATE, disclosure_days=None))
    assert private["disclosure"]["public"] is False and private["disclosure_days"] is None


# --- done when: a consenting applicant shown masked, a non-consenting one not shown ------------------------------------


def test_the_page_shows_a_consenting_applicant_masked_and_not_a_non_consenting_one(app, services, client, anonymous):
    public = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    private = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data(**PRIVATE))
    consenting = committed_case(app, services, client, anonymous, public.id)
    assert listed(anonymous)["total"] == 0  # signed, but not decided yet
    consenting = step(client, consenting["id"], "decision", decision="grant")
    declining = decided_case(app, services, client, anonymous, private.id, applicant=OTHER)
    assert services.registry.get(letter_of(declining)["id"]).data["disclosure"]["public"] is False

    status, html = page(anonymous)
    answer = listed(anonymous)
    everything = html + json.dumps(answer, ensure_ascii=False)
    assert status == 200 and answer["total"] == 1
    entry = answer["disclosures"][0]
    letter = letter_of(consenting)
    today = services.now().date()
    assert {k: entry[k] for k in ("agency", "agency_name", "decided_on", "shown_until", "applicant_type", "name", "id_type", "id_number",
                                  "serial", "number", "false_commitment", "false_mark")} == {
        "agency": "jc-justice", "agency_name": services.agencies.by_id["jc-justice"].name, "decided_on": today.isoformat(),
        "shown_until": (today + dt.timedelta(days=30)).isoformat(), "applicant_type": "person", "name": "陈*兰", "id_type": "居民身份证",
        "id_number": "1405**********1629", "serial": letter["serial"], "number": letter["number"], "false_commitment": False,
        "false_mark": None}
    assert entry["items"] == [{"id": public.id, "name": public.name, "matter": "法律援助申请"}]
    printed = sample("commitment-letter")
    assert entry["commitment"] == printed["conditions_met"]  # the conditions the applicant signed
    assert (entry["scope"], entry["period"]) == (printed["disclosure"]["scope"], printed["disclosure"]["period"])
    assert entry["verify_url"] == f"{services.settings.base_url}/v/{letter['serial']}"
    for shown in ("陈*兰", "1405**********1629", printed["conditions_met"][0], printed["disclosure"]["period"], f'href="/v/{letter["serial"]}"'):
        assert shown in html
    for personal in (APPLICANT["name"], APPLICANT["id_number"], APPLICANT["phone"], consenting["number"]):
        assert personal not in everything
    for declined in (OTHER["name"], "王*军", OTHER["id_number"], "1405**********0019", private.name, letter_of(declining)["serial"]):
        assert declined not in everything
    assert anonymous.get(f"/v/{letter['serial']}").status_code == 200  # the link verifies the letter


def test_an_organisation_keeps_its_name_and_its_credit_code_is_masked(app, services, client, anonymous):
    permit = sample("business-permit-commitment")
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data(
        "exempt", kind="permit", name="道路货物运输经营许可", matter="道路货物运输经营许可", purpose="",
        basis={"law": "《中华人民共和国道路运输条例》", "article": "第二十一条"}, conditions=permit["permit_conditions"],
        materials=permit["required_materials"], requester="", issuer="", verification={"method": "exempt"}, disclosure_days=184))
    case = open_case(client, item.id, applicant={**ENTERPRISE}, commitment_type="permit")
    step(client, case["id"], "credit-check", result="good", source="纳税信用联合激励卡")
    letter = step(client, case["id"], "documents", 201, form="business-permit-commitment")["document"]
    for party, suffix in (("applicant", ENTERPRISE["id_number"][-6:]), ("legal_representative", None)):
        link = link_for(client, letter["id"], party=party)
        assert sign_link(anonymous, link["token"], code=link["code"], **({"id_suffix": suffix} if suffix else {})).status_code == 200
    clerk, token, password = staff(app, services)
    assert sign(clerk, token, letter["id"], "handler", password).status_code == 200
    step(client, case["id"], "decision", decision="grant")

    entry = listed(anonymous)["disclosures"][0]
    assert (entry["applicant_type"], entry["name"], entry["id_type"], entry["id_number"]) == (
        "organisation", ENTERPRISE["name"], "统一社会信用代码", "9114**********3N2T")
    assert entry["commitment"] == permit["permit_conditions"]
    _, html = page(anonymous)
    assert ENTERPRISE["name"] in html and "承诺主体" in html
    for personal in (ENTERPRISE["id_number"], ENTERPRISE["phone"], ENTERPRISE["legal_representative"]):
        assert personal not in html


# --- the period, a voided letter, a false commitment --------------------------------------------------------------------


def test_an_entry_ends_after_the_days_its_item_sets(app, services, client, anonymous):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())  # 30 days
    decided = decided_case(app, services, client, anonymous, item.id)
    real_clock = services.clock
    try:
        services.clock = lambda: real_clock() + dt.timedelta(days=30)
        assert listed(anonymous)["total"] == 1  # the 30th day after the decision is the last
        services.clock = lambda: real_clock() + dt.timedelta(days=31)
        assert listed(anonymous)["total"] == 0
        status, html = page(anonymous)
        assert status == 200 and "目前没有公示中的承诺" in html and letter_of(decided)["serial"] not in html
    finally:
        services.clock = real_clock


def test_a_voided_letter_is_not_shown(app, services, client, anonymous):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    letter = letter_of(decided_case(app, services, client, anonymous, item.id))
    assert listed(anonymous)["total"] == 1
    assert services.registry.void(letter["id"], "测试：作废", services.now())
    assert listed(anonymous)["total"] == 0


def test_a_commitment_found_false_is_marked_within_its_period(app, services, client, anonymous):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    case = decided_case(app, services, client, anonymous, item.id)
    step(client, case["id"], "documents", 201, form="assistance-request-written")
    step(client, case["id"], "verification-result", result="false", note="民政部门回复：申请人名下有出租商铺一间")
    reason = "申请人隐瞒名下出租商铺一间的租金收入"
    step(client, case["id"], "close", outcome="revoked", reason=reason)

    entry = listed(anonymous)["disclosures"][0]
    today = services.now().date().isoformat()
    assert (entry["false_commitment"], entry["false_mark"], entry["false_on"]) == (True, "经核查承诺不实，已撤销行政决定", today)
    status, html = page(anonymous)
    assert status == 200 and "经核查承诺不实，已撤销行政决定" in html
    assert reason not in html and "商铺" not in html  # what was found stays with the case


# --- the search and its bounds ----------------------------------------------------------------------------------------


def test_the_search_narrows_by_agency_item_and_decision_date(app, services, client, anonymous):
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data())
    other_item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data(name="申请人家庭成员状况证明"))
    decided_case(app, services, client, anonymous, item.id)
    today = services.now().date()
    assert listed(anonymous, "?agency=jc-justice")["total"] == 1
    other_agency = next(a for a in services.agencies.by_id if a != "jc-justice")
    assert listed(anonymous, f"?agency={other_agency}")["total"] == 0
    assert listed(anonymous, f"?item={item.id}")["total"] == 1
    assert listed(anonymous, f"?item={other_item.id}")["total"] == 0
    assert listed(anonymous, f"?from={today}&to={today}")["total"] == 1
    assert listed(anonymous, f"?to={today - dt.timedelta(days=1)}")["total"] == 0
    assert listed(anonymous, "?page=2") == {"disclosures": [], "total": 1, "page": 2, "pages": 1, "today": today.isoformat()}
    status, html = page(anonymous, f"?agency=jc-justice&item={item.id}")
    assert status == 200 and f'<option value="{item.id}" selected>' in html


@pytest.mark.parametrize(("query", "named"), [
    ("?agency=nowhere", {"agency"}), ("?agency=" + "a" * 5000, {"agency"}), ("?item=%00", {"item"}), ("?item=" + "a" * 5000, {"item"}),
    ("?from=2026-13-01", {"from"}), ("?from=1999-12-31", {"from"}), ("?to=2100-01-01", {"to"}),
    ("?from=2026-05-02&to=2026-05-01", {"to"}), ("?page=0", {"page"}), ("?page=abc", {"page"}), ("?page=" + "9" * 50, {"page"}),
    ("?agency=nowhere&page=-1&from=x", {"agency", "page", "from"}),
])
def test_a_bad_parameter_is_a_400_naming_it(anonymous, query, named):
    answer = anonymous.get(f"/api/v1/disclosures{query}")
    assert answer.status_code == 400 and answer.json["error"] == "invalid_request"
    assert set(answer.json["errors"]) == named
    status, html = page(anonymous, query)
    assert status == 400 and 'role="alert"' in html


def test_the_public_endpoints_are_rate_limited(services, settings):
    limited = create_app(services=build_services(dataclasses.replace(settings, public_rate_limit="3 per minute"),
                                                 converter=services.converter, sandbox=services.sandbox))
    one, other = limited.test_client(), limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    pages = [one.get("/gongshi").status_code for _ in range(4)]
    assert pages == [200, 200, 200, 429]
    answers = [other.get("/api/v1/disclosures") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429] and answers[-1].headers["Retry-After"]


def test_an_open_credit_commitment_is_published_by_its_own_text(app, services, client, anonymous):
    """信用承诺书（主动公示型）: its 五 says 本《承诺书》同意向社会公开; the page prints its five points and the item's scope."""
    item = catalog_use.add_item(services, OPERATOR, "jc-justice", item_data("exempt", verification={"method": "exempt"}, window="司法行政"))
    case = open_case(client, item.id, commitment_type="credit_disclosure")
    step(client, case["id"], "credit-check", result="good", source="信用中国网站查询")
    letter = step(client, case["id"], "documents", 201, form="credit-commitment-disclosure")["document"]
    link = link_for(client, letter["id"], party="subject")
    assert sign_link(anonymous, link["token"], code=link["code"], id_suffix=APPLICANT["id_number"][-6:]).status_code == 200
    assert listed(anonymous)["total"] == 0  # signed, not decided
    step(client, case["id"], "decision", decision="grant")

    entry = listed(anonymous)["disclosures"][0]
    assert (entry["form"], entry["serial"], entry["name"]) == ("credit-commitment-disclosure", letter["serial"], "陈*兰")
    template = [p.text for p in docx.Document(str(ROOT / "templates" / "credit-commitment-disclosure.docx")).paragraphs]
    assert [next(p for p in template if p.endswith(line)) for line in entry["commitment"]] == template[4:9]  # 一 to 五, as printed
    assert "本《承诺书》同意向社会公开" in entry["commitment"][-1]
    assert (entry["scope"], entry["period"]) == (item.data["disclosure"]["scope"], item.data["disclosure"]["period"])
