"""实行告知承诺制的证明事项目录 (晋市政办〔2021〕8号 附件3).

Rules enforced here (each error lands on the row field it concerns, ``items.N.…``):

- every item needs its legal basis (设定依据): required, not blank (附件3 说明 1, 2);
- items that directly concern national security, state secrets, public security, prudential financial
  supervision or ecological environment protection, that directly concern personal health and safety of
  life and property, or important foreign affairs, do not use the commitment procedure and may not be
  listed (002 三; 004 四): each row names its ``area``, and an excluded area is rejected on ``items.N.area``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from ..errors import bilingual
from .fields import Choice, FormSchema, Group, Items, Text
from .spec import FormSpec, Party

GENERAL_AREA = "一般事项"
# The excluded areas, worded as in 002 三 and 004 四.
EXCLUDED_AREAS = ("国家安全", "国家秘密", "公共安全", "金融业审慎监管", "生态环境保护", "人身健康、生命财产安全", "重要涉外")


class CatalogItemSchema(FormSchema):
    name = Text("证明事项", max_length=200)
    purpose = Text("证明用途", max_length=500, multiline=True)
    basis = Text(
        "设定依据",
        max_length=2000,
        multiline=True,
        description="依据名称、文号及条文内容等；证明事项应当有法律、法规或者国务院决定依据",
    )
    requester = Text("索要单位", max_length=200, multiline=True)
    issuer = Text("开具单位", max_length=200, multiline=True)
    supervision = Text("监管措施", max_length=1000, multiline=True)
    remarks = Text("备注", required=False, max_length=500, multiline=True)
    area = Choice(
        "所属领域",
        [GENERAL_AREA, *EXCLUDED_AREAS],
        description="直接涉及国家安全、国家秘密、公共安全、金融业审慎监管、生态环境保护，直接关系人身健康、生命财产安全，"
        "以及重要涉外的证明事项不适用告知承诺制，不得列入目录（晋市政办〔2021〕8号 三）",
    )

    @validates_schema
    def check_area(self, data: dict[str, Any], **kwargs: Any) -> None:
        area = data.get("area")
        if area in EXCLUDED_AREAS:
            raise ValidationError(
                bilingual(
                    f"直接涉及“{area}”的证明事项风险较大、纠错成本较高、损害难以挽回，不适用告知承诺制，不得列入本目录",
                    f"items in the area “{area}” are excluded from the commitment procedure "
                    "(high risk, costly to correct, irreparable harm) and may not be listed",
                ),
                field_name="area",
            )


class ItemCatalogSchema(FormSchema):
    items = Items("证明事项目录", Group(CatalogItemSchema, "证明事项"), minimum=1, maximum=200)


def _subject(data: Any) -> str:
    names = "、".join(item["name"] for item in data.get("items", ()))
    return names if len(names) <= 200 else names[:199] + "…"


FORMS = (
    FormSpec(
        id="item-catalog",
        title="实行告知承诺制的证明事项目录",
        source="晋城市人民政府办公室 晋市政办〔2021〕8号 附件3",
        schema=ItemCatalogSchema,
        template="item-catalog.docx",
        seal=Party("agency", "行政机关名称"),
        number_kind=None,
        subject=_subject,
        unprinted=("items[].area",),  # drives the exclusion rule; not a column of the seed's table
    ),
)
