"""An item of an agency's catalogue (证明事项 or 涉企经营许可事项) that accepts commitment.

Rules (each error lands on the field it concerns):

- the legal basis names the law and its article (``basis.law``, ``basis.article``; 附件3 说明 1, 2): a proof
  needs a law, a regulation or a State Council decision;
- items of the excluded areas (002 三; 004 四) are refused, naming the area (``area``);
- a proof item needs its purpose, the unit that asks for the proof and the unit that issues it; a permit
  item its conditions and materials;
- the verification plan is one of 免于核查, 内部核验 (naming the system), 现场核验, 行政协助 (naming the
  agency asked); all but 免于核查 say within how many working days after the decision it is done;
- a published commitment says where and for how long (002 四(八)), and for how many days from the decision it
  stays on the public disclosure page (``disclosure_days``: the machine-readable end of the printed period).
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from ..errors import bilingual
from ..forms.catalog import EXCLUDED_AREAS, GENERAL_AREA
from ..forms.commitment import (
    CommitmentAgencyContactSchema,
    CommitmentPublicationSchema,
)
from ..forms.fields import Choice, Count, Flag, FormSchema, Group, Items, Text

KINDS = {"proof": "证明事项", "permit": "涉企经营许可事项"}
METHODS = {"exempt": "免于核查", "internal": "内部核验", "onsite": "现场核验", "assistance": "行政协助"}
_ARTICLE_HINT = "如：第四十一条、第五条第（三）项"
MAX_DISCLOSURE_DAYS = 3650


class BasisSchema(FormSchema):
    law = Text("依据名称", max_length=200, description="法律、法规或者国务院决定的名称及文号，如：《中华人民共和国法律援助法》")
    article = Text("条款", max_length=100, description=_ARTICLE_HINT)
    text = Text("条文内容", required=False, max_length=2000, multiline=True)

    @validates_schema
    def check_article(self, data: dict[str, Any], **kwargs: Any) -> None:
        article = data.get("article", "").strip()
        if article and not (article.startswith("第") and any(mark in article for mark in "条款项")):
            raise ValidationError(bilingual(f"条款应写明第几条，{_ARTICLE_HINT}", "name the article, e.g. 第四十一条"),
                                  field_name="article")


class VerificationPlanSchema(FormSchema):
    method = Choice("核查方式", list(METHODS), description="exempt 免于核查 · internal 内部核验 · onsite 现场核验 · assistance 行政协助")
    system = Text("核验系统名称", required=False, max_length=100, description="内部核验时必填，不含末尾“系统”二字，如：全国律师管理")
    agency = Text("协助核查部门", required=False, max_length=100, description="行政协助时必填：被请求协助的部门")
    days = Count("核查时限（工作日）", minimum=1, maximum=180, required=False, description="作出决定后多少个工作日内完成核查；免于核查时不填")
    reply_days = Count("协助回复期限（工作日）", minimum=1, maximum=60, required=False,
                       description="行政协助时，申请行政协助函要求对方书面回复的期限；默认 5 个工作日")

    @validates_schema
    def check_plan(self, data: dict[str, Any], **kwargs: Any) -> None:
        method = data.get("method")
        errors: dict[str, list[str]] = {}
        if method == "internal":
            system = data.get("system", "").strip()
            if not system:
                errors["system"] = [bilingual("内部核验须写明核验系统", "internal verification names the system used")]
            elif system.endswith("系统"):
                errors["system"] = [bilingual("系统名称末尾不要再写“系统”二字", "leave out the final 系统")]
        if method == "assistance" and not data.get("agency", "").strip():
            errors["agency"] = [bilingual("行政协助须写明被请求协助的部门", "assistance names the agency asked")]
        if method in ("internal", "onsite", "assistance") and data.get("days") is None:
            errors["days"] = [bilingual("须写明决定后多少个工作日内完成核查", "say within how many working days after the decision it is verified")]
        if method == "exempt" and data.get("days") is not None:
            errors["days"] = [bilingual("免于核查的事项不填核查时限", "an exempt item has no verification deadline")]
        if errors:
            raise ValidationError(errors)


def _list(title: str, inner: str, *, required: bool = True, description: str | None = None) -> Any:
    field = Items(title, Text(inner, max_length=500, multiline=True), minimum=1 if required else 0, maximum=30, description=description)
    if not required:
        field.required = False
        field.load_default = list
    return field


class CatalogItemSchema(FormSchema):
    """One item as an agency keeps it: everything its letters print, and how its commitments are checked."""

    kind = Choice("事项类型", list(KINDS), description="proof 证明事项 · permit 涉企经营许可事项")
    name = Text("事项名称", max_length=200, description="证明事项名称，或涉企经营许可事项名称")
    matter = Text("申请事项名称", max_length=100, description="申请人办理的行政事项，印在告知承诺书标题下，如：法律援助申请")
    purpose = Text("证明用途", required=False, max_length=500, multiline=True, description="证明事项必填")
    basis = Group(BasisSchema, "设定依据")
    content = Text("证明内容 / 许可条件和材料要求", max_length=2000, multiline=True)
    conditions = _list("申请人应符合的条件", "条件", description="逐条列出；告知承诺书中申请人承诺已符合的条件默认取自此处")
    materials = _list("材料要求", "材料", required=False, description="涉企经营许可事项必填")
    requester = Text("索要单位", required=False, max_length=200, description="证明事项必填")
    issuer = Text("开具单位", required=False, max_length=200, description="证明事项必填")
    proxy_allowed = Flag("可否代为承诺")
    consequences = Items("不实承诺的责任", Text("处理措施", max_length=500, multiline=True), minimum=1, maximum=20)
    disclosure = Group(CommitmentPublicationSchema, "承诺书是否公开")
    disclosure_days = Count("公示期限（日）", minimum=1, maximum=MAX_DISCLOSURE_DAYS, required=False,
                            description="公开的事项必填：自作出决定之日起公示多少日（与“公开时限”一致），到期后不再在承诺公示页显示")
    verification = Group(VerificationPlanSchema, "核查方式")
    supervision = Text("监管措施", max_length=1000, multiline=True)
    contact = Group(CommitmentAgencyContactSchema, "行政机关联系人")
    credit_catalogue = Text("失信行为信息目录所属信用网站", max_length=50, description="如：信用中国（山西）")
    window = Text("受理窗口", required=False, max_length=50, description="信用承诺书“政务服务中心____窗口”，如：市场监管")
    area = Choice("所属领域", [GENERAL_AREA, *EXCLUDED_AREAS],
                  description="直接涉及国家安全、国家秘密、公共安全、金融业审慎监管、生态环境保护，直接关系人身健康、生命财产安全，"
                              "以及重要涉外的事项不适用告知承诺制（晋市政办〔2021〕8号 三；郑政办〔2021〕17号 四）")
    remarks = Text("备注", required=False, max_length=500, multiline=True)

    @validates_schema(skip_on_field_errors=False)  # the exclusion is said even when other fields are wrong too
    def check_area(self, data: dict[str, Any], **kwargs: Any) -> None:
        area = data.get("area")
        if area in EXCLUDED_AREAS:
            raise ValidationError(
                bilingual(f"直接涉及“{area}”的事项风险较大、纠错成本较高、损害难以挽回，不适用告知承诺制，不得列入目录"
                          "（晋市政办〔2021〕8号 三；郑政办〔2021〕17号 四）",
                          f"items in the area “{area}” are excluded from the commitment procedure (high risk, costly to "
                          "correct, irreparable harm) and may not be listed"),
                field_name="area",
            )

    @validates_schema
    def check_disclosure_days(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("disclosure") or {}).get("public") and data.get("disclosure_days") is None:
            raise ValidationError(bilingual("承诺书公开的，须写明自作出决定之日起公示多少日",
                                            "a published commitment needs the number of days it is published, counted from the decision"),
                                  field_name="disclosure_days")

    @validates_schema
    def check_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        required = {"proof": ("purpose", "requester", "issuer"), "permit": ("materials",)}.get(data.get("kind", ""), ())
        errors = {name: [bilingual(f"{KINDS[data['kind']]}须填写此项", f"a {data['kind']} item needs this")]
                  for name in required if not data.get(name)}
        if errors:
            raise ValidationError(errors)


def basis_text(item: dict[str, Any]) -> str:
    """The 设定依据 as the letters print it: the law, the article and, when given, its text."""
    basis = item["basis"]
    head = f"{basis['law']}{basis['article']}"
    return f"{head}：{basis['text']}" if basis.get("text") else head
