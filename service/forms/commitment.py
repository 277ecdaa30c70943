"""证明事项告知承诺书 (晋市政办〔2021〕8号 附件4) and 涉企经营许可事项告知承诺书 (郑政办〔2021〕17号 四、五).

Rules enforced here (each error lands on the field it concerns):

- the ID number must be valid for its ID type (居民身份证 and 统一社会信用代码 by check digit);
- 承诺书公开 → the scope and period of publication must be given (002 四(八); 004 五(六));
- 代为承诺 (``proxy``) only where the item allows it (``proxy_allowed``), only when the applicant chose the
  commitment procedure (``willing``), and only with the applicant's special authorisation
  (002 附件2 二.1; 004 五(三));
- an applicant with a serious bad credit record or a past false commitment may not use commitment
  until credit repair (002 四(二); 004 五(三)): ``no_serious_bad_credit`` must be true.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from ..errors import bilingual
from .fields import (
    ID_TYPES,
    Choice,
    CreditCode,
    Date,
    Flag,
    FormSchema,
    Group,
    Items,
    IdentifiedSchema,
    Phone,
    Text,
)
from .spec import FormSpec, Party

# --- pieces shared with credit.py ---------------------------------------------------------------


def good_credit_flag(title: str = "申请人无较严重的不良信用记录、未曾作出虚假承诺") -> Any:
    return Flag(
        title,
        description="申请人有较严重的不良信用记录或者存在曾作出虚假承诺等情形的，在信用修复前不适用告知承诺制（晋市政办〔2021〕8号 四(二)）",
    )


def require_good_credit(data: dict[str, Any], *, zh_scheme: str = "告知承诺制", en_scheme: str = "the commitment procedure") -> None:
    if data.get("no_serious_bad_credit") is False:
        raise ValidationError(
            bilingual(
                f"有较严重的不良信用记录或者曾作出虚假承诺的，在信用修复前不适用{zh_scheme}，应当按照一般程序办理",
                f"with a serious bad credit record or a past false commitment, {en_scheme} is not available "
                "until credit repair: use the ordinary procedure",
            ),
            field_name="no_serious_bad_credit",
        )


class CommitmentAgencyContactSchema(FormSchema):
    name = Text("联系人", max_length=50)
    phone = Phone("联系方式")


class CommitmentPublicationSchema(FormSchema):
    public = Flag("承诺书是否公开")
    scope = Text("公开范围", required=False, max_length=200, description="公开时必填，如：晋城市人民政府网站、政务服务大厅公示栏")
    period = Text("公开时限", required=False, max_length=200, description="公开时必填，如：自作出行政决定之日起公示6个月")

    @validates_schema
    def check_public(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("public"):
            return
        errors = {}
        if not data.get("scope", "").strip():
            errors["scope"] = [bilingual("承诺书公开的，须写明公开范围", "a published commitment needs the scope of publication")]
        if not data.get("period", "").strip():
            errors["period"] = [bilingual("承诺书公开的，须写明公开时限", "a published commitment needs the period of publication")]
        if errors:
            raise ValidationError(errors)


def consequences_field() -> Any:
    return Items(
        "不实承诺的处理措施",
        Text("处理措施", max_length=500, multiline=True),
        minimum=1,
        maximum=20,
        description="如：终止办理、责令限期整改、撤销行政决定、予以行政处罚并纳入信用记录；涉嫌犯罪的，依法移送司法机关",
    )


def catalogue_field() -> Any:
    return Text(
        "失信行为信息目录所属信用网站",
        max_length=50,
        description="印在“纳入……信息目录”中，如：信用中国（山西）",
    )


# --- 证明事项告知承诺书 -------------------------------------------------------------------------------


class CommitmentApplicantSchema(IdentifiedSchema):
    name = Text("姓名", max_length=50)
    phone = Phone("联系方式")
    id_type = Choice("证件类型", ID_TYPES)
    id_number = Text("证件编号", max_length=30)


class CommitmentProxySchema(IdentifiedSchema):
    name = Text("代为承诺人姓名", max_length=50)
    id_type = Choice("证件类型", ID_TYPES)
    id_number = Text("证件编号", max_length=30)
    authorisation = Text(
        "授权委托书",
        required=False,
        max_length=200,
        description="申请人特别授权的委托书名称、编号或日期，如：授权委托书（2026年3月10日）",
    )

    @validates_schema
    def check_authorisation(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("authorisation", "").strip():
            raise ValidationError(
                bilingual(
                    "代为承诺须有申请人的特别授权，请填写授权委托书",
                    "a commitment by proxy needs the applicant's special authorisation: give the power of attorney",
                ),
                field_name="authorisation",
            )


class CommitmentLetterSchema(FormSchema):
    matter = Text("申请事项名称", max_length=100)
    applicant = Group(CommitmentApplicantSchema, "申请人")
    agency_contact = Group(CommitmentAgencyContactSchema, "行政机关联系人")
    proof_item = Text("证明事项名称", max_length=200)
    proof_purpose = Text("证明用途", max_length=500, multiline=True)
    legal_basis = Text("设定证明的依据", max_length=2000, multiline=True)
    proof_content = Text("证明的内容（许可条件和材料要求）", max_length=2000, multiline=True)
    willing = Flag("申请人是否愿意就上述事项采取承诺制的方式")
    proxy_allowed = Flag("本证明事项可否代为承诺")
    credit_catalogue = catalogue_field()
    consequences = consequences_field()
    disclosure = Group(CommitmentPublicationSchema, "承诺的公开")
    conditions_met = Items(
        "申请人已符合的条件、要求",
        Text("条件、要求", max_length=500, multiline=True),
        minimum=1,
        maximum=20,
    )
    proxy = Group(CommitmentProxySchema, "代为承诺人", required=False, description="由他人代为承诺时填写；仅限本证明事项可以代为承诺的情形")
    no_serious_bad_credit = good_credit_flag()
    sign_date = Date("签署日期")

    @validates_schema
    def check_credit(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_good_credit(data)

    @validates_schema
    def check_proxy(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("proxy"):
            return
        if data.get("proxy_allowed") is False:
            raise ValidationError(
                bilingual(
                    "本证明事项必须由申请人作出承诺，不可代为承诺",
                    "this item must be committed to by the applicant in person: no commitment by proxy",
                ),
                field_name="proxy",
            )
        if data.get("willing") is False:
            raise ValidationError(
                bilingual(
                    "申请人未选择承诺制方式，不能由他人代为承诺",
                    "the applicant did not choose the commitment procedure, so nobody can commit on their behalf",
                ),
                field_name="proxy",
            )


# --- 涉企经营许可事项告知承诺书 ---------------------------------------------------------------------------


class PermitEnterpriseSchema(FormSchema):
    name = Text("名称", max_length=100)
    credit_code = CreditCode("统一社会信用代码")
    legal_representative = Text("法定代表人", max_length=50)
    phone = Phone("联系方式")


def _list(title: str, inner_title: str, description: str | None = None) -> Any:
    return Items(title, Text(inner_title, max_length=500, multiline=True), minimum=1, maximum=30, description=description)


class BusinessPermitCommitmentSchema(FormSchema):
    matter = Text("许可事项名称", max_length=100)
    applicant = Group(PermitEnterpriseSchema, "申请人（企业）")
    agency_contact = Group(CommitmentAgencyContactSchema, "行政机关联系人")
    legal_basis = Text("设定依据", max_length=2000, multiline=True)
    permit_conditions = _list("许可条件", "条件")
    required_materials = _list("材料要求", "材料")
    supervision = _list("事中事后监管措施", "监管措施")
    credit_catalogue = catalogue_field()
    consequences = consequences_field()
    disclosure = Group(CommitmentPublicationSchema, "承诺的公开")
    no_serious_bad_credit = good_credit_flag("申请人无较严重的不良信用记录、未曾作出虚假承诺")
    sign_date = Date("签署日期")

    @validates_schema
    def check_credit(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_good_credit(data)


FORMS = (
    FormSpec(
        id="commitment-letter",
        title="证明事项告知承诺书",
        source="晋城市人民政府办公室 晋市政办〔2021〕8号 附件4；郑政办〔2021〕17号 四、五(四)",
        schema=CommitmentLetterSchema,
        template="commitment-letter.docx",
        seal=Party("agency", "行政机关（公章）"),
        signers=(Party("applicant", "申请人签名"), Party("handler", "经办人")),
        number_kind="commitment",
        subject=lambda data: data["applicant"]["name"],
        unprinted=("no_serious_bad_credit",),
    ),
    FormSpec(
        id="business-permit-commitment",
        title="涉企经营许可事项告知承诺书",
        source="郑州市人民政府办公厅 郑政办〔2021〕17号 四、五(二)(三)(四)；扎兰屯市政务服务中心“信易批”通知 二(二)1",
        schema=BusinessPermitCommitmentSchema,
        template="business-permit-commitment.docx",
        seal=Party("agency", "行政机关（公章）"),
        signers=(
            Party("applicant", "申请人（企业盖章）"),
            Party("legal_representative", "法定代表人（签字）"),
            Party("handler", "经办人"),
        ),
        number_kind="commitment",
        subject=lambda data: data["applicant"]["name"],
        unprinted=("no_serious_bad_credit",),
    ),
)
