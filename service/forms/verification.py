"""证明事项内部核验单 and 证明事项现场核验记录单 (晋市政办〔2021〕8号 附件5, 附件6).

Rules enforced here (each error lands on the field it concerns):

- 内部核验单: the system name is printed before the form's own word 系统, so it may not end in 系统;
- 现场核验记录单: each committed item says whether it met the requirements on site (``conforms``).
  When any item does not, the clerk must give the working days allowed (``days``) and where the
  documents go (``submit_to``); the form prints the seed's sentence and the real due date, counted in
  Chinese working days from the record date. When every item conforms, ``days`` and ``submit_to`` must
  be left out and the form says so instead;
- the on-site verification cannot be after the date of the record (``inspection_date``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from ..errors import bilingual
from ..workdays import add_working_days, years_without_data
from .fields import Count, Date, Flag, FormSchema, Group, Items, Text
from .spec import FormSpec, Party


def _cn_date(value: dt.date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


# --- 证明事项内部核验单 (附件5) ------------------------------------------------------------------------


class InternalVerificationSchema(FormSchema):
    department = Text("监管部门", max_length=100, description="印在标题下的括号内")
    system = Text(
        "核验系统名称",
        max_length=100,
        description="经登录____系统核实：填写系统名称，表中已印有“系统”二字，如“山西省政务服务”",
    )
    applicant = Text("申请人", max_length=100)
    items = Items("承诺的证明事项", Text("证明事项", max_length=200), minimum=1, maximum=50)
    findings = Text("相关信息", max_length=2000, multiline=True, description="经系统核实的相关信息")
    verify_date = Date("核验日期")

    @validates_schema
    def check_system(self, data: dict[str, Any], **kwargs: Any) -> None:
        system = data.get("system", "").strip()
        if system.endswith("系统"):
            raise ValidationError(
                bilingual(
                    "系统名称末尾不要再写“系统”二字，核验单上已印有“经登录____系统核实”",
                    "leave out the final 系统 (“system”): the form already prints “经登录____系统核实”",
                ),
                field_name="system",
            )


# --- 证明事项现场核验记录单 (附件6) ----------------------------------------------------------------------


class OnsiteItemSchema(FormSchema):
    name = Text("证明事项", max_length=200)
    conforms = Flag("现场核验是否符合要求", default=True, description="不符合要求的事项须在限期内递交证明材料")


class OnsiteVerificationSchema(FormSchema):
    department = Text("监管部门", max_length=100, description="印在标题下的括号内")
    applicant = Text("申请人", max_length=100)
    items = Items("承诺的证明事项", Group(OnsiteItemSchema, "证明事项"), minimum=1, maximum=50)
    inspection_date = Date("现场核验日期")
    record = Text("有关情况记录", max_length=2000, multiline=True)
    days = Count(
        "递交证明材料期限（工作日）",
        minimum=1,
        maximum=60,
        required=False,
        description="有不符合要求的事项时必填：请于__个工作日将有关证明材料递交",
    )
    submit_to = Text("证明材料递交单位", required=False, max_length=200, description="有不符合要求的事项时必填")
    record_date = Date("记录日期", description="表末“年 月 日”；递交期限自此日起按工作日计算")

    @validates_schema
    def check_dates(self, data: dict[str, Any], **kwargs: Any) -> None:
        inspected, recorded = data.get("inspection_date"), data.get("record_date")
        if inspected and recorded and inspected > recorded:
            raise ValidationError(
                bilingual("现场核验日期不能晚于记录日期", "the on-site verification cannot be after the record date"),
                field_name="inspection_date",
            )

    @validates_schema
    def check_deadline(self, data: dict[str, Any], **kwargs: Any) -> None:
        items = data.get("items") or []
        failing = any(not item.get("conforms", True) for item in items)
        errors: dict[str, list[str]] = {}
        if failing:
            if data.get("days") is None:
                errors["days"] = [
                    bilingual(
                        "有不符合要求的事项时，须填写递交证明材料的期限（工作日）",
                        "give the working days allowed for submitting the documents, since some items do not conform",
                    )
                ]
            if not data.get("submit_to", "").strip():
                errors["submit_to"] = [
                    bilingual(
                        "有不符合要求的事项时，须填写证明材料递交单位",
                        "say where the documents are to be submitted, since some items do not conform",
                    )
                ]
        else:
            if data.get("days") is not None:
                errors["days"] = [
                    bilingual(
                        "各事项均符合要求时不应填写递交期限",
                        "leave out the deadline: every item conforms",
                    )
                ]
            if data.get("submit_to", "").strip():
                errors["submit_to"] = [
                    bilingual(
                        "各事项均符合要求时不应填写证明材料递交单位",
                        "leave out where to submit documents: every item conforms",
                    )
                ]
        if errors:
            raise ValidationError(errors)


def onsite_derive(data: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """The nonconforming items, and the due date the N working days mean (from the record date)."""
    failing = [item["name"] for item in data["items"] if not item["conforms"]]
    values: dict[str, Any] = {
        "nonconforming": failing,
        "nonconforming_text": "、".join(failing),
        "due_date": None,
        "due_exact": True,
        "due_note": "",
    }
    if failing and data.get("days"):
        start = data["record_date"]
        due, exact = add_working_days(start, data["days"])
        note = f"补交截止日期：{_cn_date(due)}"
        if not exact:
            years = "、".join(f"{year}年" for year in years_without_data(start, due))
            note += f"，按周一至周五推算，{years}法定节假日安排尚未公布"
        values.update(due_date=due, due_exact=exact, due_note=f"（{note}）")
    return values


FORMS = (
    FormSpec(
        id="internal-verification",
        title="证明事项内部核验单",
        source="晋城市人民政府办公室 晋市政办〔2021〕8号 附件5",
        schema=InternalVerificationSchema,
        template="internal-verification.docx",
        seal=Party("agency", "核验单位"),
        signers=(Party("verifier", "核验人（签字）"),),
        number_kind=None,
        subject=lambda data: data["applicant"],
    ),
    FormSpec(
        id="onsite-verification",
        title="证明事项现场核验记录单",
        source="晋城市人民政府办公室 晋市政办〔2021〕8号 附件6",
        schema=OnsiteVerificationSchema,
        template="onsite-verification.docx",
        seal=Party("agency", "行政机关(公章)"),
        signers=(Party("onsite_inspector", "现场核验人员(签字)"), Party("applicant", "申请人(签字)")),
        number_kind=None,
        subject=lambda data: data["applicant"],
        derive=onsite_derive,
        unprinted=("items[].conforms",),  # printed through the derived nonconforming_text
    ),
)
