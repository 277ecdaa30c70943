"""What each step of a case takes, declared once: the API declares these (and validates with them), and the
pages and the command line load them with ``parse``. Dates left out mean the service's today."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from ..errors import InvalidData, bilingual
from ..forms.fields import (
    Choice,
    Count,
    Date,
    FormSchema,
    Group,
    Items,
    Text,
    flatten_errors,
)
from .applicants import ApplicantSchema
from .vocabulary import (
    CHANNELS,
    COMMITMENT_TYPES,
    CREDIT_RESULTS,
    CREDIT_SOURCES_HINT,
    DECISIONS,
    MATERIAL_ACTIONS,
    OUTCOMES,
    RESULTS,
)


def parse(schema: type[FormSchema], raw: Any) -> dict[str, Any]:
    """``raw`` loaded by ``schema``; raises InvalidData with every bad field by its path."""
    if not isinstance(raw, Mapping):
        raise InvalidData({"": [bilingual("应为 JSON 对象", "must be a JSON object")]})
    try:
        return schema().load(raw)
    except ValidationError as exc:
        raise InvalidData(flatten_errors(exc.messages)) from None


def _codes(values: Mapping[str, str]) -> str:
    return " · ".join(f"{code} {label}" for code, label in values.items())


class ToleranceSchema(FormSchema):
    missing_materials = Items("缺乏的材料", Text("材料名称", max_length=200), minimum=1, maximum=20)
    supply_by = Date("容缺补正时限", description="申请人承诺补齐材料的日期，须晚于受理日期")


class CaseCreateSchema(FormSchema):
    agency = Text("行政机关", required=False, max_length=64, description="默认：调用者所属的唯一行政机关")
    items = Items("事项", Text("事项编号", max_length=36), minimum=1, maximum=10, description="事项目录中的事项编号")
    applicant = Group(ApplicantSchema, "申请人")
    channel = Choice("申请渠道", list(CHANNELS), description=_codes(CHANNELS))
    received_on = Date("收件日期")
    commitment_type = Choice("承诺类型", list(COMMITMENT_TYPES), description=_codes(COMMITMENT_TYPES))
    tolerance = Group(ToleranceSchema, "容缺受理", required=False, description="容缺受理型信用承诺必填")
    note = Text("备注", required=False, max_length=1000, multiline=True)

    @validates_schema
    def check_tolerance(self, data: dict[str, Any], **kwargs: Any) -> None:
        tolerant = data.get("commitment_type") == "credit_tolerance"
        if tolerant and not data.get("tolerance"):
            raise ValidationError(bilingual("容缺受理须写明缺乏的材料和补正时限", "a commitment with missing materials lists them and the date they are due"),
                                  field_name="tolerance")
        if not tolerant and data.get("tolerance"):
            raise ValidationError(bilingual("只有容缺受理型信用承诺才有容缺材料", "only a credit_tolerance case has missing materials"),
                                  field_name="tolerance")
        tolerance, received = data.get("tolerance"), data.get("received_on")
        if tolerance and received and tolerance["supply_by"] <= received:
            raise ValidationError({"tolerance": {"supply_by": [bilingual("补正时限应晚于收件日期", "the materials are due after the day received")]}})


class CreditCheckSchema(FormSchema):
    result = Choice("信用核查结果", list(CREDIT_RESULTS), description=_codes(CREDIT_RESULTS))
    source = Text("查询来源", max_length=200, description=CREDIT_SOURCES_HINT)
    checked_on = Date("核查日期", required=False)
    note = Text("说明", required=False, max_length=1000, multiline=True)


class CaseDocumentSchema(FormSchema):
    form = Text("表单", max_length=64, description="告知承诺书，或事项核查方式对应的核验单、记录单、协助函")
    item = Text("事项编号", required=False, max_length=36, description="办件有多个事项时必填")
    data = fields.Dict(load_default=dict, metadata={"title": "补充数据", "description": "只填办件和事项目录不知道的内容"})


class DecisionSchema(FormSchema):
    decision = Choice("决定", list(DECISIONS), description=_codes(DECISIONS))
    reason = Text("理由", required=False, max_length=1000, multiline=True, description="不予时必填")
    decided_on = Date("决定日期", required=False)

    @validates_schema
    def check_reason(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("decision") == "refuse" and not data.get("reason", "").strip():
            raise ValidationError(bilingual("不予办理须说明理由", "a refusal gives its reason"), field_name="reason")


class VerificationResultSchema(FormSchema):
    result = Choice("核查结果", list(RESULTS), description=_codes(RESULTS))
    days = Count("整改期限（工作日）", minimum=1, maximum=60, required=False, description="限期整改时：默认取现场核验记录单所定期限")
    note = Text("说明", required=False, max_length=2000, multiline=True)
    found_on = Date("核查日期", required=False)


class WithdrawalSchema(FormSchema):
    reason = Text("撤回理由", max_length=1000, multiline=True)
    withdrawn_on = Date("撤回日期", required=False)


class CloseSchema(FormSchema):
    outcome = Choice("结案方式", list(OUTCOMES), description=_codes(OUTCOMES))
    reason = Text("说明", required=False, max_length=2000, multiline=True, description="承诺不实、终止退件时必填")
    closed_on = Date("结案日期", required=False)


class MaterialsSchema(FormSchema):
    action = Choice("容缺材料", list(MATERIAL_ACTIONS), description=_codes(MATERIAL_ACTIONS))
    on = Date("日期", required=False)
    note = Text("说明", required=False, max_length=1000, multiline=True)


class CreditReportSchema(FormSchema):
    reported_on = Date("归集日期", required=False)
    reference = Text("归集凭证", max_length=200, description="如：市信用信息共享平台回执编号")


class ComplaintSchema(FormSchema):
    received_on = Date("接到投诉举报日期", required=False)
    summary = Text("投诉举报内容", max_length=2000, multiline=True)


class ComplaintResolutionSchema(FormSchema):
    resolved_on = Date("处理日期", required=False)
    result = Text("调查处理结果", max_length=2000, multiline=True, description="须告知投诉举报人")




_FINDING_CODES = {"true": "真实", "false": "虚假", "cannot_assist": "无法提供协助", "not_ours": "不属于本部门应当掌握的内容"}


class AssistanceReplySchema(FormSchema):
    finding = Choice("核实结论", list(_FINDING_CODES), description=_codes(_FINDING_CODES))
    reason = Text("无法提供协助的原因", required=False, max_length=1000, multiline=True, description="无法提供协助时必填")
    refer_to = Text("建议请予以协助的单位", required=False, max_length=200, description="不属于本部门应当掌握的内容时必填")
    reply_date = Date("复函日期", required=False)


class ExternalReplySchema(AssistanceReplySchema):
    reply_number = Text("回复函文号", max_length=120, description="对方复函的文号，如：晋市民函字〔2026〕12号")


class VisitOutcomeSchema(AssistanceReplySchema):
    outcome = Text("调查核实情况", max_length=2000, multiline=True, description="派出的两名同志调查核实的经过和结果")
