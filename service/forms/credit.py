"""信用承诺书: 主动公示型, 容缺受理型 (郏政务和大数据〔2022〕8号 模板) and 审批替代型 (described, ibid. 第二条(三)).

001 第三条: a 信用承诺书 names 承诺主体名称, 证件类型 (统一社会信用代码 or 居民身份证), 证件号码,
主管部门, 承诺内容 and 承诺日期; it takes effect when the subject signs or seals it.

Rules enforced here (each error lands on the field it concerns):

- the number must be valid for its type (check digits of the credit code / resident ID);
- a subject with a serious bad credit record or a past false commitment may not use credit commitment
  until credit repair (义政数〔2020〕17号 四(一); 晋市政办〔2021〕8号 四(二)): ``no_serious_bad_credit``;
- 容缺受理型: the correction deadline comes after the commitment date; the matter may not be one that
  directly concerns public safety, environmental protection, energy saving or personal health and safety
  of life and property (扎兰屯 “信易批” 三.3); a proxy's resident ID number must be valid.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from ..errors import bilingual
from .commitment import good_credit_flag, require_good_credit
from .fields import Choice, Date, FormSchema, Group, IdentifiedSchema, Items, ResidentId, Text
from .spec import FormSpec, Party

SUBJECT_ID_TYPES = ["统一社会信用代码", "居民身份证"]

# 容缺受理 applies to ordinary matters only (扎兰屯市政务服务中心 “信易批” 通知 三.3).
TOLERANCE_CATEGORIES = ["一般事项", "公共安全", "生态环境保护", "节约能源", "人身健康、生命财产安全"]
TOLERANCE_EXCLUDED = frozenset(TOLERANCE_CATEGORIES[1:])


class CreditSubjectSchema(IdentifiedSchema):
    name = Text("承诺主体名称（行政相对人）", max_length=100)
    id_type = Choice("证件类型", SUBJECT_ID_TYPES)
    id_number = Text("统一社会信用代码（身份证号码）", max_length=30)


class CreditCommitmentSchema(FormSchema):
    """The fields every 信用承诺书 has."""

    window = Text("政务服务中心窗口", max_length=50, description="印在“政务服务中心 XX 窗口：”中，如：市场监管")
    matter = Text("申请办理事项", max_length=100)
    applicant = Group(CreditSubjectSchema, "承诺主体")
    department = Text("主管部门", max_length=100)
    no_serious_bad_credit = good_credit_flag("承诺主体无较严重的不良信用记录、未曾作出虚假承诺")
    sign_date = Date("承诺日期")

    @validates_schema
    def check_credit(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_good_credit(data, zh_scheme="信用承诺", en_scheme="credit commitment")


class CreditDisclosureSchema(CreditCommitmentSchema):
    pass


class CreditProxySchema(FormSchema):
    name = Text("委托代理人姓名", max_length=50)
    id_number = ResidentId("委托代理人居民身份证号码")


class CreditToleranceSchema(CreditCommitmentSchema):
    matter_category = Choice(
        "事项类别",
        TOLERANCE_CATEGORIES,
        description="直接涉及公共安全、生态环境保护、节约能源及直接关系人身健康、生命财产安全的事项不实行容缺受理",
    )
    missing_materials = Items("缺乏的材料", Text("材料名称", max_length=200), minimum=1, maximum=20)
    deadline = Date("容缺补正时限", description="须晚于承诺日期")
    proxy = Group(CreditProxySchema, "委托代理人", required=False, description="由委托代理人办理时填写")

    @validates_schema
    def check_category(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("matter_category") in TOLERANCE_EXCLUDED:
            raise ValidationError(
                bilingual(
                    "直接涉及公共安全、生态环境保护、节约能源及直接关系人身健康、生命财产安全的政务服务事项不实行容缺受理",
                    "matters that directly concern public safety, environmental protection, energy saving, "
                    "or personal health and safety of life and property are not accepted with missing materials",
                ),
                field_name="matter_category",
            )

    @validates_schema
    def check_deadline(self, data: dict[str, Any], **kwargs: Any) -> None:
        deadline, signed = data.get("deadline"), data.get("sign_date")
        if deadline and signed and deadline <= signed:
            raise ValidationError(
                bilingual("容缺补正时限应晚于承诺日期", "the deadline for supplying the missing materials must be after the commitment date"),
                field_name="deadline",
            )


class CreditSubstitutionSchema(CreditCommitmentSchema):
    substituted = Items(
        "以承诺替代的材料（条件）",
        Text("材料或条件", max_length=500, multiline=True),
        minimum=1,
        maximum=30,
    )


def _subject(data: Any) -> str:
    return data["applicant"]["name"]


def _tolerance_values(data: Any, today: Any) -> dict[str, Any]:
    return {"missing_text": "、".join(data["missing_materials"])}


_SOURCE_001 = "郏县政务服务和大数据服务中心 郏政务和大数据〔2022〕8号《信用承诺工作实施办法（试行）》"

FORMS = (
    FormSpec(
        id="credit-commitment-disclosure",
        title="信用承诺书（主动公示型）",
        source=f"{_SOURCE_001} 主动公示型通用模板，第二条(一)、第三条",
        schema=CreditDisclosureSchema,
        template="credit-commitment-disclosure.docx",
        seal=None,
        signers=(Party("subject", "承诺主体名称（行政相对人）"),),
        subject=_subject,
        unprinted=("no_serious_bad_credit",),
    ),
    FormSpec(
        id="credit-commitment-tolerance",
        title="信用承诺书（容缺受理型）",
        source=f"{_SOURCE_001} 容缺受理型通用模板，第二条(二)；义政数〔2020〕17号 二(一)2；扎兰屯“信易批”通知 三.3",
        schema=CreditToleranceSchema,
        template="credit-commitment-tolerance.docx",
        seal=None,
        signers=(Party("subject", "承诺主体名称（行政相对人）"),
                 Party("proxy", "委托代理人", present=lambda data: data.get("proxy") is not None)),
        subject=_subject,
        derive=_tolerance_values,
        # matter_category and the credit flag only gate the form; the materials print as missing_text.
        unprinted=("no_serious_bad_credit", "matter_category", "missing_materials[]"),
    ),
    FormSpec(
        id="credit-commitment-substitution",
        title="信用承诺书（审批替代型）",
        source=f"{_SOURCE_001} 第二条(三)、第三条；义政数〔2020〕17号 二(一)1、四(三)(六)(七)",
        schema=CreditSubstitutionSchema,
        template="credit-commitment-substitution.docx",
        seal=None,
        signers=(Party("subject", "承诺主体名称（行政相对人）"),),
        subject=_subject,
        unprinted=("no_serious_bad_credit",),
    ),
)
