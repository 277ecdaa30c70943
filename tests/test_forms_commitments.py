"""The commitment forms: samples load, and every domain rule rejects bad data on the right field."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.forms import get_form

from .conftest import sample
from .formcheck import assert_only, errors_of, load

ROOT = Path(__file__).resolve().parent.parent
FORM_IDS = [
    "commitment-letter",
    "business-permit-commitment",
    "credit-commitment-disclosure",
    "credit-commitment-tolerance",
    "credit-commitment-substitution",
]
CREDIT_IDS = FORM_IDS[2:]




# --- samples ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sample_loads(form_id):
    data = load(form_id, sample(form_id))
    spec = get_form(form_id)
    assert spec.subject(data)
    assert spec.template == f"{form_id}.docx"
    assert (ROOT / "templates" / spec.template).exists()


def test_specs_declare_seal_signers_and_numbers():
    letter = get_form("commitment-letter")
    assert letter.number_kind == "commitment"
    assert letter.seal.label == "行政机关（公章）"
    assert [p.label for p in letter.signers] == ["申请人签名", "经办人"]
    permit = get_form("business-permit-commitment")
    assert permit.number_kind == "commitment"
    assert permit.seal.label == "行政机关（公章）"
    assert [p.role for p in permit.signers][:2] == ["applicant", "legal_representative"]
    for form_id in CREDIT_IDS:
        spec = get_form(form_id)
        assert spec.seal is None and spec.number_kind is None
        assert spec.signers[0].label == "承诺主体名称（行政相对人）"
    assert [p.role for p in get_form("credit-commitment-tolerance").signers] == ["subject", "proxy"]


def test_optional_blocks_may_be_left_out():
    data = sample("commitment-letter")
    del data["proxy"]
    assert load("commitment-letter", data)["proxy"] is None
    data = sample("credit-commitment-tolerance")
    del data["proxy"]
    assert load("credit-commitment-tolerance", data)["proxy"] is None


def test_tolerance_derives_the_missing_materials_sentence():
    spec = get_form("credit-commitment-tolerance")
    data = load(spec.id, sample(spec.id))
    assert spec.context(data, None)["missing_text"] == "经营场所房屋租赁合同原件、出租方房屋所有权证明复印件"


def test_lower_case_x_in_an_id_number_is_normalised():
    data = sample("credit-commitment-tolerance")
    data["applicant"]["id_number"] = "14050219920228004x"
    assert load("credit-commitment-tolerance", data)["applicant"]["id_number"] == "14050219920228004X"


# --- identifiers -----------------------------------------------------------------------------------


def test_commitment_letter_id_number_checked_per_type():
    data = sample("commitment-letter")
    data["applicant"]["id_number"] = "140525197903041628"  # wrong check digit
    assert_only(errors_of("commitment-letter", data), "applicant.id_number")
    data["applicant"]["id_type"] = "统一社会信用代码"
    assert_only(errors_of("commitment-letter", data), "applicant.id_number")
    data["applicant"]["id_type"] = "护照"
    data["applicant"]["id_number"] = "E1234567"
    load("commitment-letter", data)


def test_commitment_letter_id_type_from_the_list():
    data = sample("commitment-letter")
    data["applicant"]["id_type"] = "工作证"
    assert_only(errors_of("commitment-letter", data), "applicant.id_type")


def test_proxy_id_number_checked():
    data = sample("commitment-letter")
    data["proxy"]["id_number"] = "140502198513123129"  # month 13
    assert_only(errors_of("commitment-letter", data), "proxy.id_number")


def test_business_permit_credit_code_checked():
    data = sample("business-permit-commitment")
    data["applicant"]["credit_code"] = "91140500MA0K7D3N2A"
    assert_only(errors_of("business-permit-commitment", data), "applicant.credit_code")


@pytest.mark.parametrize("form_id", CREDIT_IDS)
def test_credit_subject_number_checked_per_type(form_id):
    data = sample(form_id)
    kind = data["applicant"]["id_type"]
    data["applicant"]["id_type"] = "居民身份证" if kind == "统一社会信用代码" else "统一社会信用代码"
    assert_only(errors_of(form_id, data), "applicant.id_number")


@pytest.mark.parametrize("form_id", CREDIT_IDS)
def test_credit_subject_id_type_only_credit_code_or_resident_id(form_id):
    data = sample(form_id)
    data["applicant"]["id_type"] = "护照"
    assert_only(errors_of(form_id, data), "applicant.id_type")


def test_tolerance_proxy_needs_a_valid_resident_id():
    data = sample("credit-commitment-tolerance")
    data["proxy"]["id_number"] = "410425196811253012"
    assert_only(errors_of("credit-commitment-tolerance", data), "proxy.id_number")


# --- cross-cutting: no commitment before credit repair ----------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_serious_bad_credit_excludes_commitment(form_id):
    data = sample(form_id)
    data["no_serious_bad_credit"] = False
    errors = errors_of(form_id, data)
    assert_only(errors, "no_serious_bad_credit")
    assert "信用修复" in errors["no_serious_bad_credit"][0]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_credit_flag_is_required(form_id):
    data = sample(form_id)
    del data["no_serious_bad_credit"]
    assert_only(errors_of(form_id, data), "no_serious_bad_credit")


# --- commitment letter: proxy, disclosure, lists ----------------------------------------------------


def test_proxy_not_allowed_for_this_item():
    data = sample("commitment-letter")
    data["proxy_allowed"] = False
    errors = errors_of("commitment-letter", data)
    assert_only(errors, "proxy")
    assert "不可代为承诺" in errors["proxy"][0]


def test_proxy_needs_the_applicants_authorisation():
    data = sample("commitment-letter")
    data["proxy"]["authorisation"] = "  "
    errors = errors_of("commitment-letter", data)
    assert_only(errors, "proxy.authorisation")
    assert "特别授权" in errors["proxy.authorisation"][0]
    del data["proxy"]["authorisation"]
    assert_only(errors_of("commitment-letter", data), "proxy.authorisation")


def test_no_proxy_when_applicant_does_not_choose_commitment():
    data = sample("commitment-letter")
    data["willing"] = False
    assert_only(errors_of("commitment-letter", data), "proxy")
    del data["proxy"]
    assert load("commitment-letter", data)["willing"] is False


@pytest.mark.parametrize("form_id", ["commitment-letter", "business-permit-commitment"])
def test_published_commitment_needs_scope_and_period(form_id):
    data = sample(form_id)
    data["disclosure"] = {"public": True, "scope": "", "period": "自作出决定之日起公示30日"}
    assert_only(errors_of(form_id, data), "disclosure.scope")
    data["disclosure"] = {"public": True, "scope": "市政府网站"}
    assert_only(errors_of(form_id, data), "disclosure.period")
    data["disclosure"] = {"public": False}
    load(form_id, data)


@pytest.mark.parametrize(
    ("form_id", "path"),
    [
        ("commitment-letter", "consequences"),
        ("commitment-letter", "conditions_met"),
        ("business-permit-commitment", "consequences"),
        ("business-permit-commitment", "permit_conditions"),
        ("business-permit-commitment", "required_materials"),
        ("business-permit-commitment", "supervision"),
        ("credit-commitment-tolerance", "missing_materials"),
        ("credit-commitment-substitution", "substituted"),
    ],
)
def test_lists_need_at_least_one_entry(form_id, path):
    data = sample(form_id)
    data[path] = []
    assert_only(errors_of(form_id, data), path)


@pytest.mark.parametrize(
    ("form_id", "path"),
    [
        ("commitment-letter", "proof_content"),
        ("commitment-letter", "legal_basis"),
        ("commitment-letter", "credit_catalogue"),
        ("business-permit-commitment", "legal_basis"),
        ("credit-commitment-disclosure", "department"),
        ("credit-commitment-substitution", "window"),
    ],
)
def test_notice_may_not_be_blank(form_id, path):
    data = sample(form_id)
    data[path] = "   "
    assert_only(errors_of(form_id, data), path)


def test_blank_list_entry_is_rejected_on_its_index():
    data = sample("commitment-letter")
    data["consequences"][1] = ""
    assert_only(errors_of("commitment-letter", data), "consequences.1")


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sign_date_must_be_a_real_date(form_id):
    data = sample(form_id)
    data["sign_date"] = "2026-02-30"
    assert_only(errors_of(form_id, data), "sign_date")


@pytest.mark.parametrize("form_id", ["commitment-letter", "business-permit-commitment"])
def test_reserved_names_are_not_fields(form_id):
    data = sample(form_id)
    data["agency"] = {"name": "伪造机关"}
    assert_only(errors_of(form_id, data), "agency")


# --- 容缺受理 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("deadline", ["2026-04-20", "2026-04-19"])
def test_tolerance_deadline_after_commitment_date(deadline):
    data = sample("credit-commitment-tolerance")
    data["deadline"] = deadline
    assert_only(errors_of("credit-commitment-tolerance", data), "deadline")


@pytest.mark.parametrize("category", ["公共安全", "生态环境保护", "节约能源", "人身健康、生命财产安全"])
def test_tolerance_excluded_matter_categories(category):
    data = sample("credit-commitment-tolerance")
    data["matter_category"] = category
    errors = errors_of("credit-commitment-tolerance", data)
    assert_only(errors, "matter_category")
    assert "不实行容缺受理" in errors["matter_category"][0]


def test_tolerance_category_must_be_from_the_list():
    data = sample("credit-commitment-tolerance")
    data["matter_category"] = "其他"
    assert_only(errors_of("credit-commitment-tolerance", data), "matter_category")


def test_several_rules_report_together():
    data = sample("credit-commitment-tolerance")
    data["matter_category"] = "公共安全"
    data["deadline"] = "2026-04-01"
    data["no_serious_bad_credit"] = False
    errors = errors_of("credit-commitment-tolerance", data)
    assert set(errors) == {"matter_category", "deadline", "no_serious_bad_credit"}


def test_unknown_fields_rejected():
    data = sample("credit-commitment-disclosure")
    data["applicant"]["phone"] = "13800000000"
    assert_only(errors_of("credit-commitment-disclosure", data), "applicant.phone")


# --- dates -----------------------------------------------------------------------------------------


def _resident_id(birth: str) -> str:
    from service.forms.fields import _ID_CHECK, _ID_WEIGHTS

    body = f"140525{birth.replace('-', '')}162"
    return body + _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2028-01-01", "9999-12-31"])
def test_an_implausible_date_is_refused_on_its_field(day):
    import datetime as dt

    from service.errors import InvalidData
    from service.issuing import validate

    data = {**sample("commitment-letter"), "sign_date": day}
    with pytest.raises(InvalidData) as caught:
        validate("commitment-letter", data, dt.date(2026, 11, 29))
    assert_only(caught.value.errors, "sign_date")
    assert "不合常理" in caught.value.errors["sign_date"][0]


def test_dates_from_2000_to_the_end_of_next_year_are_accepted():
    import datetime as dt

    from service.issuing import validate

    for day in ("2000-01-01", "2027-12-31"):
        _, data = validate("commitment-letter", {**sample("commitment-letter"), "sign_date": day}, dt.date(2026, 11, 29))
        assert data["sign_date"] == dt.date.fromisoformat(day)


def test_a_date_before_the_birth_of_someone_named_is_refused():
    import datetime as dt

    from service.errors import InvalidData
    from service.issuing import validate

    data = sample("commitment-letter")
    data["applicant"] = {**data["applicant"], "id_number": _resident_id("2026-04-01")}
    with pytest.raises(InvalidData) as caught:
        validate("commitment-letter", data, dt.date(2026, 11, 29))
    assert_only(caught.value.errors, "sign_date")
    assert "出生日期（2026年04月01日" in caught.value.errors["sign_date"][0]
    validate("commitment-letter", {**data, "sign_date": "2026-04-01"}, dt.date(2026, 11, 29))


def test_implausible_dates_are_a_422_over_http(client):
    for day in ("0001-01-01", "9999-12-31"):
        response = client.post("/api/v1/documents", json={"form": "commitment-letter",
                                                          "data": {**sample("commitment-letter"), "sign_date": day}})
        assert response.status_code == 422 and list(response.json["errors"]) == ["sign_date"]
