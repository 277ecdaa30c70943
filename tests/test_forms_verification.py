"""The catalogue, verification and assistance forms (晋市政办〔2021〕8号 附件3, 5–8): samples load, every domain
rule rejects bad data on the right field, and the templates render what the data says (DOCX, no LibreOffice)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest

from service import workdays
from service.forms import RESERVED_CONTEXT, get_form
from service.forms.catalog import EXCLUDED_AREAS
from service.rendering.docx_render import DocxRenderer

from .conftest import sample
from .formcheck import assert_bilingual, assert_only, errors_of, load
from .phrases_verification import PHRASES

ROOT = Path(__file__).resolve().parent.parent
FORM_IDS = [
    "item-catalog",
    "internal-verification",
    "onsite-verification",
    "assistance-request-written",
    "assistance-request-visit",
    "assistance-reply",
]
TODAY = dt.date(2026, 11, 22)




def rendered_text(form_id: str, data: dict) -> str:
    """The rendered DOCX's body text, without whitespace (as the PDF phrase checks compare)."""
    spec = get_form(form_id)
    context = spec.context(load(form_id, data), TODAY)
    number = "晋市司函字〔2026〕5号" if spec.number_kind == "letter" else None
    context.update(
        number=number,
        serial="2026-00000001-ABCD",
        verify_url="http://127.0.0.1:8000/v/2026-00000001-ABCD",
        agency={"id": "jc-justice", "name": "晋城市司法局"},
        issued_on=TODAY,
        form=form_id,
    )
    docx = DocxRenderer(ROOT / "templates").render(spec.template, context, None)
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", xml))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- every form ------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sample_loads(form_id):
    spec = get_form(form_id)
    data = load(form_id, sample(form_id))
    assert not set(data) & RESERVED_CONTEXT
    if form_id != "item-catalog":
        assert spec.subject(data) == data["applicant"]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_field_has_a_chinese_title(form_id):
    def walk(schema):
        for name, field in schema.fields.items():
            assert re.search(r"[\u4e00-\u9fff]", field.metadata.get("title", "")), (form_id, name)
            inner = getattr(field, "inner", None)
            nested = getattr(inner or field, "schema", None)
            if nested is not None and hasattr(nested, "fields"):
                walk(nested)

    walk(get_form(form_id).schema())


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_sample_renders_every_phrase_and_no_tags(form_id):
    text = rendered_text(form_id, sample(form_id))
    assert "{%" not in text and "{{" not in text
    missing = [phrase for phrase in PHRASES[form_id] if squash(phrase) not in text]
    assert missing == []


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_unknown_field_rejected(form_id):
    data = sample(form_id)
    data["remark_x"] = "x"
    assert_only(errors_of(form_id, data), "remark_x")


def test_specs():
    assert get_form("item-catalog").seal.label == "行政机关名称"
    assert get_form("item-catalog").number_kind is None
    assert [p.role for p in get_form("internal-verification").signers] == ["verifier"]
    onsite = get_form("onsite-verification")
    assert onsite.seal.label == "行政机关(公章)"
    assert [(p.role, p.label) for p in onsite.signers] == [
        ("onsite_inspector", "现场核验人员(签字)"),
        ("applicant", "申请人(签字)"),
    ]
    for form_id in FORM_IDS[3:]:
        spec = get_form(form_id)
        assert spec.number_kind == "letter"
        assert spec.seal.label == "行政机关名称（公章）"
        assert spec.signers == ()


# --- item-catalog ----------------------------------------------------------------------------------


def test_catalog_requires_a_legal_basis():
    data = sample("item-catalog")
    data["items"][1]["basis"] = "   "
    assert_only(errors_of("item-catalog", data), "items.1.basis")
    del data["items"][1]["basis"]
    assert_only(errors_of("item-catalog", data), "items.1.basis")


@pytest.mark.parametrize("area", EXCLUDED_AREAS)
def test_catalog_rejects_excluded_areas(area):
    data = sample("item-catalog")
    data["items"][2]["area"] = area
    errors = errors_of("item-catalog", data)
    assert_only(errors, "items.2.area")
    assert area in errors["items.2.area"][0]


def test_catalog_excluded_areas_named_as_in_the_seeds():
    assert EXCLUDED_AREAS == ("国家安全", "国家秘密", "公共安全", "金融业审慎监管", "生态环境保护", "人身健康、生命财产安全", "重要涉外")


def test_catalog_area_must_be_a_listed_choice():
    data = sample("item-catalog")
    data["items"][0]["area"] = "其他"
    assert_only(errors_of("item-catalog", data), "items.0.area")
    del data["items"][0]["area"]
    assert_only(errors_of("item-catalog", data), "items.0.area")


def test_catalog_row_count():
    data = sample("item-catalog")
    data["items"] = []
    assert_only(errors_of("item-catalog", data), "items")
    data["items"] = [sample("item-catalog")["items"][0]] * 201
    assert_only(errors_of("item-catalog", data), "items")
    data["items"] = [sample("item-catalog")["items"][0]] * 200
    assert len(load("item-catalog", data)["items"]) == 200


def test_catalog_required_row_fields_and_optional_remarks():
    data = sample("item-catalog")
    for name in ("name", "purpose", "requester", "issuer", "supervision"):
        broken = copy.deepcopy(data)
        broken["items"][0][name] = ""
        assert_only(errors_of("item-catalog", broken), f"items.0.{name}")
    del data["items"][0]["remarks"]
    assert load("item-catalog", data)["items"][0]["remarks"] == ""


def test_catalog_prints_every_row_and_the_notes():
    data = sample("item-catalog")
    text = rendered_text("item-catalog", data)
    for item in data["items"]:
        assert squash(item["name"]) in text and squash(item["basis"]) in text
    assert "一般事项" not in text  # the area drives the rule; it is not a column of the seed's table


# --- internal-verification -------------------------------------------------------------------------


def test_internal_system_name_without_the_printed_word():
    data = sample("internal-verification")
    data["system"] = "全国律师管理系统"
    assert_only(errors_of("internal-verification", data), "system")


@pytest.mark.parametrize(("field", "value"), [("items", []), ("findings", " \n "), ("applicant", ""), ("department", "")])
def test_internal_required(field, value):
    data = sample("internal-verification")
    data[field] = value
    assert_only(errors_of("internal-verification", data), field)


def test_internal_date():
    data = sample("internal-verification")
    data["verify_date"] = "2026-02-30"
    assert_only(errors_of("internal-verification", data), "verify_date")


def test_internal_findings_keep_their_lines():
    data = sample("internal-verification")
    text = rendered_text("internal-verification", data)
    for line in data["findings"].split("\n"):
        assert squash(line) in text
    assert "经登录全国律师管理系统核实，申请人王志刚承诺的如下证明事项：" in text


# --- onsite-verification ---------------------------------------------------------------------------


def onsite(**changes) -> dict:
    data = sample("onsite-verification")
    data.update(changes)
    return data


def all_conforming() -> dict:
    data = sample("onsite-verification")
    for item in data["items"]:
        item["conforms"] = True
    del data["days"], data["submit_to"]
    return data


def test_onsite_due_date_counts_chinese_working_days():
    spec = get_form("onsite-verification")
    data = load("onsite-verification", sample("onsite-verification"))
    derived = spec.context(data, TODAY)
    # Recorded Monday 2026-09-28; 5 working days: 9/29, 9/30, (国庆 10/1–7), 10/8, 10/9, Saturday 10/10 (调休).
    assert derived["due_date"] == dt.date(2026, 10, 10)
    assert derived["due_note"] == "（补交截止日期：2026年10月10日）"
    assert derived["nonconforming"] == ["法医物证鉴定仪器设备配置证明"]


def test_onsite_prints_the_seed_sentence_with_the_data():
    text = rendered_text("onsite-verification", sample("onsite-verification"))
    assert (
        "不符合要求的事项法医物证鉴定仪器设备配置证明,请于5个工作日将有关证明材料递交晋城市司法局公共法律服务管理科,"
        "逾期未递交的,按证明材料缺失处理,同时纳入失信惩戒名单。" in text
    )
    assert "经2026年9月24日现场核验,其有关情况记录如下:" in text
    assert "均符合要求" not in text


def test_onsite_due_date_not_exact_in_a_year_without_data(monkeypatch):
    monkeypatch.setattr(workdays, "year_has_data", lambda year: year <= 2026)
    data = onsite(inspection_date="2026-12-28", record_date="2026-12-29", days=5)
    derived = get_form("onsite-verification").context(load("onsite-verification", data), TODAY)
    assert derived["due_date"] == dt.date(2027, 1, 5)
    assert derived["due_exact"] is False
    assert derived["due_note"] == "（补交截止日期：2027年1月5日，按周一至周五推算，2027年法定节假日安排尚未公布）"
    assert "按周一至周五推算，2027年法定节假日安排尚未公布" in rendered_text("onsite-verification", data)


def test_onsite_all_conforming():
    data = all_conforming()
    derived = get_form("onsite-verification").context(load("onsite-verification", data), TODAY)
    assert derived["nonconforming"] == [] and derived["due_note"] == ""
    text = rendered_text("onsite-verification", data)
    assert "经现场核验，申请人承诺的证明事项均符合要求。" in text
    assert "逾期未递交" not in text and "补交截止日期" not in text


def test_onsite_conforms_defaults_to_true():
    data = all_conforming()
    for item in data["items"]:
        del item["conforms"]
    assert all(item["conforms"] for item in load("onsite-verification", data)["items"])


def test_onsite_nonconforming_needs_days_and_where():
    data = sample("onsite-verification")
    del data["days"]
    assert_only(errors_of("onsite-verification", data), "days")
    data = sample("onsite-verification")
    data["submit_to"] = " "
    assert_only(errors_of("onsite-verification", data), "submit_to")
    data = sample("onsite-verification")
    del data["days"], data["submit_to"]
    errors = errors_of("onsite-verification", data)
    assert set(errors) == {"days", "submit_to"}
    for messages in errors.values():
        assert_bilingual(messages)


def test_onsite_all_conforming_takes_no_deadline():
    data = all_conforming()
    data["days"] = 5
    assert_only(errors_of("onsite-verification", data), "days")
    data = all_conforming()
    data["submit_to"] = "晋城市司法局"
    assert_only(errors_of("onsite-verification", data), "submit_to")


@pytest.mark.parametrize("days", [0, 61, "5", 2.5])
def test_onsite_days_range_and_type(days):
    assert_only(errors_of("onsite-verification", onsite(days=days)), "days")


def test_onsite_inspection_not_after_record():
    assert_only(errors_of("onsite-verification", onsite(inspection_date="2026-09-29")), "inspection_date")
    assert load("onsite-verification", onsite(inspection_date="2026-09-28"))


def test_onsite_item_flag_must_be_boolean():
    data = sample("onsite-verification")
    data["items"][1]["conforms"] = "否"
    assert_only(errors_of("onsite-verification", data), "items.1.conforms")


# --- assistance requests -----------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", ["assistance-request-written", "assistance-request-visit"])
def test_request_visit_not_after_letter(form_id):
    data = sample(form_id)
    data["visit_date"] = "2026-12-01"
    assert_only(errors_of(form_id, data), "visit_date")
    data["visit_date"] = data["letter_date"]
    assert load(form_id, data)


@pytest.mark.parametrize("form_id", ["assistance-request-written", "assistance-request-visit"])
def test_request_matter_without_the_printed_word(form_id):
    data = sample(form_id)
    data["matter"] = "法律援助申请事项"
    assert_only(errors_of(form_id, data), "matter")


@pytest.mark.parametrize("form_id", ["assistance-request-written", "assistance-request-visit"])
@pytest.mark.parametrize("field", ["addressee", "applicant", "matter", "items", "letter_date"])
def test_request_required(form_id, field):
    data = sample(form_id)
    del data[field]
    assert_only(errors_of(form_id, data), field)


def test_written_reply_days():
    for days in (0, 61, None):
        data = sample("assistance-request-written")
        data["reply_days"] = days
        assert_only(errors_of("assistance-request-written", data), "reply_days")
    text = rendered_text("assistance-request-written", sample("assistance-request-written"))
    assert "请贵单位对申请人书面承诺的真实性给予核查，在5个工作日内给予书面回复。" in text
    assert "2026年11月16日，李秀英到我单位办理法律援助申请事项" in text
    assert "行政机关名称（公章）：晋城市司法局" in text


@pytest.mark.parametrize("staff", [["刘建军"], ["刘建军", "张海燕", "王强"], []])
def test_visit_exactly_two_staff(staff):
    data = sample("assistance-request-visit")
    data["staff"] = staff
    assert_only(errors_of("assistance-request-visit", data), "staff")


@pytest.mark.parametrize("second", ["刘建军", " 刘建军 ", "刘 建军"])
def test_visit_two_different_people(second):
    data = sample("assistance-request-visit")
    data["staff"] = ["刘建军", second]
    assert_only(errors_of("assistance-request-visit", data), "staff.1")


def test_visit_staff_names_not_blank():
    data = sample("assistance-request-visit")
    data["staff"] = ["", "张海燕"]
    assert_only(errors_of("assistance-request-visit", data), "staff.0")


def test_visit_prints_both_names():
    text = rendered_text("assistance-request-visit", sample("assistance-request-visit"))
    assert "兹派我单位刘建军、张海燕两名同志前往贵单位调查核实，请给予配合。" in text


# --- assistance-reply ------------------------------------------------------------------------------


def reply(**changes) -> dict:
    data = sample("assistance-reply")
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "number",
    ["晋市司函〔2026〕5号", "晋市司函字[2026]5号", "晋市司函字〔26〕5号", "晋市司函字〔2026〕号", "函字〔2026〕5号", "5号", "晋市司函字〔2026〕5"],
)
def test_reply_request_number_must_be_a_letter_number(number):
    assert_only(errors_of("assistance-reply", reply(request_number=number)), "request_number")


@pytest.mark.parametrize("number", ["晋市司函字〔2026〕5号", "泽政办函字〔2025〕128号"])
def test_reply_request_number_accepted(number):
    assert load("assistance-reply", reply(request_number=number))


@pytest.mark.parametrize("finding", ["真实", "虚假"])
def test_reply_finding_printed(finding):
    text = rendered_text("assistance-reply", reply(finding=finding))
    assert f"根据贵单位行政协助函晋市监函字〔2026〕5号内容，经我单位核实，申请人承诺事项{finding}。" in text
    assert "备注" not in text and "真实（虚假）" not in text


def test_reply_finding_is_a_choice():
    assert_only(errors_of("assistance-reply", reply(finding="属实")), "finding")


def test_reply_cannot_assist_needs_a_reason():
    assert_only(errors_of("assistance-reply", reply(finding="无法提供协助")), "cannot_assist_reason")
    assert_only(
        errors_of("assistance-reply", reply(finding="无法提供协助", cannot_assist_reason=" ", refer_to="晋城市城区民政局")),
        "cannot_assist_reason",
    )


def test_reply_cannot_assist_prints_reason_and_referral():
    data = reply(
        finding="无法提供协助",
        cannot_assist_reason="申请人的最低生活保障信息由其户籍所在地民政部门管理，本局系统中无相关记录。",
        refer_to="晋城市城区民政局",
    )
    assert load("assistance-reply", data)
    text = rendered_text("assistance-reply", data)
    assert "内容，我单位无法提供协助，原因见备注。" in text
    assert "备注：无法提供协助的原因：申请人的最低生活保障信息由其户籍所在地民政部门管理，本局系统中无相关记录。" in text
    assert "该事项不属于本部门应当掌握的内容，建议请晋城市城区民政局予以行政协助。" in text
    assert "经我单位核实" not in text


def test_reply_cannot_assist_without_referral():
    data = reply(finding="无法提供协助", cannot_assist_reason="系统维护，暂无法查询。")
    text = rendered_text("assistance-reply", data)
    assert "备注：无法提供协助的原因：系统维护，暂无法查询。" in text
    assert "建议请" not in text


def test_reply_reason_and_referral_only_when_cannot_assist():
    assert_only(errors_of("assistance-reply", reply(cannot_assist_reason="系统维护")), "cannot_assist_reason")
    assert_only(errors_of("assistance-reply", reply(refer_to="晋城市城区民政局")), "refer_to")


def test_reply_request_not_after_reply():
    assert_only(errors_of("assistance-reply", reply(request_date="2026-11-21")), "request_date")


def test_a_reply_never_comes_from_the_agency_that_asked(services):
    from service.auth.principal import OPERATOR
    from service.errors import InvalidData
    from service.issuing import issue

    data = {**sample("assistance-reply"), "addressee": "晋城市司法局"}
    with pytest.raises(InvalidData) as refused:
        issue(services, "assistance-reply", data, principal=OPERATOR, agency_id="jc-justice")
    assert "addressee" in refused.value.errors and "晋城市司法局" in refused.value.errors["addressee"][0]
    with services.registry.engine.connect() as conn:
        from sqlalchemy import func, select

        from service.registry.tables import documents

        assert conn.execute(select(func.count()).select_from(documents)).scalar_one() == 0  # refused before a number was drawn
