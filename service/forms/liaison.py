"""推行证明事项告知承诺制联络表 (晋市政办〔2021〕8号 附件1)."""

from __future__ import annotations

from .fields import FormSchema, Group, Phone, Text
from .spec import FormSpec, Party


class ContactSchema(FormSchema):
    name = Text("姓名", max_length=50)
    phone = Phone("联系电话")


class LiaisonFormSchema(FormSchema):
    department = Text("具体承办科室", max_length=100)
    office_phone = Phone("办公电话")
    head = Group(ContactSchema, "科室负责人")
    liaison = Group(ContactSchema, "联络员")


FORMS = (
    FormSpec(
        id="liaison-form",
        title="推行证明事项告知承诺制联络表",
        source="晋城市人民政府办公室 晋市政办〔2021〕8号 附件1",
        schema=LiaisonFormSchema,
        template="liaison-form.docx",
        seal=Party("agency", "单位名称（盖章）"),
        subject=lambda data: data["liaison"]["name"],
    ),
)
