"""申请行政协助函（一）（二） and 行政协助回复函 (晋市政办〔2021〕8号 附件7, 附件8).

Rules enforced here (each error lands on the field it concerns):

- 申请行政协助函: the day the applicant came cannot be after the letter's date (``visit_date``); the matter
  is printed before the form's own word 事项, so it may not end in 事项 (``matter``);
- 申请行政协助函（二）: exactly two staff are sent (``staff``), and they are two different people
  (``staff.1``);
- 行政协助回复函: the request's number must read like an official letter number, e.g. 晋市司函字〔2026〕5号
  (``request_number``); the request cannot be after the reply (``request_date``); the finding is 真实,
  虚假, or 无法提供协助 — the last needs the reason (``cannot_assist_reason``, 002 四(六): a refusal must
  be explained in writing), and only then may another unit be suggested (``refer_to``).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, validates_schema

from ..errors import bilingual
from .fields import Choice, Count, Date, FormSchema, Items, Text
from .spec import FormSpec, Party

LETTER_NUMBER = re.compile(r"^.+函字〔\d{4}〕\d+号$")


def _not_after(data: dict[str, Any], earlier: str, later: str, zh: str, en: str) -> None:
    first, second = data.get(earlier), data.get(later)
    if first and second and first > second:
        raise ValidationError(bilingual(zh, en), field_name=earlier)


# --- 申请行政协助函 (附件7) --------------------------------------------------------------------------


class _RequestSchema(FormSchema):
    addressee = Text("被请求协助部门", max_length=100, description="____（部门名称）：")
    visit_date = Date("申请人到我单位办理日期")
    applicant = Text("申请人", max_length=100)
    matter = Text("办理事项", max_length=200, description="到我单位办理____事项：表中已印有“事项”二字")
    items = Items("承诺内容", Text("承诺的证明事项", max_length=500, multiline=True), minimum=1, maximum=50)
    letter_date = Date("发函日期")

    @validates_schema
    def check_request(self, data: dict[str, Any], **kwargs: Any) -> None:
        _not_after(
            data,
            "visit_date",
            "letter_date",
            "申请人到我单位办理的日期不能晚于发函日期",
            "the day the applicant came cannot be after the date of the letter",
        )
        if data.get("matter", "").strip().endswith("事项"):
            raise ValidationError(
                bilingual(
                    "办理事项名称末尾不要再写“事项”二字，函中已印有“到我单位办理____事项”",
                    "leave out the final 事项 (“matter”): the letter already prints “到我单位办理____事项”",
                ),
                field_name="matter",
            )


class WrittenRequestSchema(_RequestSchema):
    reply_days = Count("书面回复期限（工作日）", minimum=1, maximum=60, description="在____个工作日内给予书面回复")


class VisitRequestSchema(_RequestSchema):
    staff = Items(
        "派出人员",
        Text("姓名", max_length=50),
        minimum=2,
        maximum=2,
        description="兹派我单位____、____两名同志前往贵单位调查核实",
    )

    @validates_schema
    def check_staff(self, data: dict[str, Any], **kwargs: Any) -> None:
        staff = data.get("staff") or []
        if len(staff) == 2 and re.sub(r"\s", "", staff[0]) == re.sub(r"\s", "", staff[1]):
            raise ValidationError(
                {
                    "staff": {
                        1: [
                            bilingual(
                                "派出的两名同志不能是同一人",
                                "the two staff sent must be two different people",
                            )
                        ]
                    }
                }
            )


# --- 行政协助回复函 (附件8) --------------------------------------------------------------------------

FINDINGS = ["真实", "虚假", "无法提供协助"]


class ReplySchema(FormSchema):
    addressee = Text("请求协助部门", max_length=100, description="____（部门）：")
    request_date = Date("请求协助日期", description="____年__月__日，贵单位请我单位协助核实")
    applicant = Text("申请人", max_length=100)
    items = Items("承诺事项", Text("承诺的证明事项", max_length=500, multiline=True), minimum=1, maximum=50)
    request_number = Text("行政协助函文号", max_length=60, description="如 晋市司函字〔2026〕5号")
    finding = Choice("核实结论", FINDINGS, description="申请人承诺事项真实（虚假）；或无法提供协助")
    cannot_assist_reason = Text(
        "无法提供协助的原因",
        required=False,
        max_length=1000,
        multiline=True,
        description="核实结论为“无法提供协助”时必填",
    )
    refer_to = Text(
        "建议请予以行政协助的单位",
        required=False,
        max_length=200,
        description="不属于本部门应当掌握的内容时填写，仅在无法提供协助时可填",
    )
    reply_date = Date("复函日期")

    @validates_schema
    def check_number(self, data: dict[str, Any], **kwargs: Any) -> None:
        number = data.get("request_number")
        if number is not None and not LETTER_NUMBER.fullmatch(number.strip()):
            raise ValidationError(
                bilingual(
                    "行政协助函文号格式不正确，应如“晋市司函字〔2026〕5号”（年份用六角括号〔〕）",
                    "not an official letter number: it should read like 晋市司函字〔2026〕5号 (year in 〔〕)",
                ),
                field_name="request_number",
            )

    @validates_schema
    def check_dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        _not_after(
            data,
            "request_date",
            "reply_date",
            "请求协助日期不能晚于复函日期",
            "the request cannot be after the date of the reply",
        )

    @validates_schema
    def check_finding(self, data: dict[str, Any], **kwargs: Any) -> None:
        finding = data.get("finding")
        if finding is None:
            return
        reason = data.get("cannot_assist_reason", "").strip()
        refer_to = data.get("refer_to", "").strip()
        errors: dict[str, list[str]] = {}
        if finding == "无法提供协助":
            if not reason:
                errors["cannot_assist_reason"] = [
                    bilingual(
                        "无法提供协助的，须说明原因",
                        "give the reason why assistance cannot be provided",
                    )
                ]
        else:
            if reason:
                errors["cannot_assist_reason"] = [
                    bilingual(
                        f"核实结论为“{finding}”时不应填写无法提供协助的原因",
                        f"the finding is “{finding}”: leave out the reason for not assisting",
                    )
                ]
            if refer_to:
                errors["refer_to"] = [
                    bilingual(
                        "只有无法提供协助时才可建议由其他单位予以行政协助",
                        "another unit may only be suggested when assistance cannot be provided",
                    )
                ]
        if errors:
            raise ValidationError(errors)


def reply_derive(data: Any, today: Any) -> dict[str, Any]:
    """Whether the reply declines to assist (then it prints the reason in its 备注)."""
    return {"cannot_assist": data["finding"] == "无法提供协助"}


_SOURCE = "晋城市人民政府办公室 晋市政办〔2021〕8号"
_SEAL = Party("agency", "行政机关名称（公章）")

FORMS = (
    FormSpec(
        id="assistance-request-written",
        title="申请行政协助函（一）",
        source=f"{_SOURCE} 附件7",
        schema=WrittenRequestSchema,
        template="assistance-request-written.docx",
        seal=_SEAL,
        number_kind="letter",
        subject=lambda data: data["applicant"],
        other_agency=("addressee",),
        description="请被请求部门对申请人书面承诺的真实性书面核查并回复",
    ),
    FormSpec(
        id="assistance-request-visit",
        title="申请行政协助函（二）",
        source=f"{_SOURCE} 附件7",
        schema=VisitRequestSchema,
        template="assistance-request-visit.docx",
        seal=_SEAL,
        number_kind="letter",
        subject=lambda data: data["applicant"],
        other_agency=("addressee",),
        description="派两名同志前往被请求部门调查核实申请人的书面承诺",
    ),
    FormSpec(
        id="assistance-reply",
        title="行政协助回复函",
        source=f"{_SOURCE} 附件8",
        schema=ReplySchema,
        template="assistance-reply.docx",
        seal=_SEAL,
        number_kind="letter",
        subject=lambda data: data["applicant"],
        derive=reply_derive,
        other_agency=("addressee",),  # a reply never comes from the agency that asked (附件8)
    ),
)
