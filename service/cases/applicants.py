"""The applicant of a case: what is asked of them, who may see them whole, and the key by which the service
finds its own record of false commitments (the ID number is never the key itself: a keyed hash is).

Those who act for the case's agency (its clerks and supervisors, its calling systems, the operator) see the
applicant whole; anyone else who may see the case at all (an administrator) sees the name, ID number and
phone masked — and so does every event and audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from ..auth.principal import Principal
from ..errors import bilingual
from ..forms.fields import ID_TYPES, Choice, Group, IdentifiedSchema, Phone, Text
from ..masking import mask_id_number, mask_name, mask_phone

APPLICANT_TYPES = {"person": "自然人", "organisation": "法人或其他组织"}
ORGANISATION_ID = "统一社会信用代码"


class ProxySchema(IdentifiedSchema):
    name = Text("代理人姓名", max_length=50)
    id_type = Choice("证件类型", ID_TYPES)
    id_number = Text("证件编号", max_length=30)
    phone = Phone("联系方式", required=False)
    authorisation = Text("授权委托书", max_length=200, description="申请人特别授权的委托书名称、编号或日期（002 附件2 二.1）")


class ApplicantSchema(IdentifiedSchema):
    type = Choice("申请人类型", list(APPLICANT_TYPES), description="person 自然人 · organisation 法人或其他组织")
    name = Text("姓名或名称", max_length=100)
    id_type = Choice("证件类型", ID_TYPES)
    id_number = Text("证件编号", max_length=30, description="自然人填证件号码；组织填统一社会信用代码")
    phone = Phone("联系方式")
    legal_representative = Text("法定代表人", required=False, max_length=50, description="组织必填")
    proxy = Group(ProxySchema, "代理人", required=False, description="由他人代为办理、代为承诺时填写；须有申请人的特别授权")

    @validates_schema
    def check_organisation(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("type") != "organisation":
            return
        errors: dict[str, list[str]] = {}
        if data.get("id_type") != ORGANISATION_ID:
            errors["id_type"] = [bilingual("组织以统一社会信用代码标识", "an organisation is identified by its unified social credit code")]
        if not (data.get("legal_representative") or "").strip():
            errors["legal_representative"] = [bilingual("组织须填写法定代表人", "an organisation names its legal representative")]
        if errors:
            raise ValidationError(errors)


def identity_key(hasher: Any, applicant: Mapping[str, Any]) -> str:
    """The keyed hash of the applicant's identity (``services.persons.id_hash``), the same for every case of theirs."""
    return hasher(f"{applicant['id_type']}:{applicant['id_number']}")[-64:]


def may_see_whole(principal: Principal, agency: str) -> bool:
    return principal.role in ("system", "clerk", "supervisor", "operator") and principal.acts_for(agency)


def masked(applicant: Mapping[str, Any]) -> dict[str, Any]:
    """The applicant as someone without rights to them sees it."""
    out = dict(applicant)
    if out.get("type") != "organisation":
        out["name"] = mask_name(out.get("name", ""))
    out["id_number"] = mask_id_number(out.get("id_number", ""))
    if out.get("phone"):
        out["phone"] = mask_phone(out["phone"])
    if out.get("proxy"):
        proxy = dict(out["proxy"])
        proxy["name"] = mask_name(proxy.get("name", ""))
        proxy["id_number"] = mask_id_number(proxy.get("id_number", ""))
        if proxy.get("phone"):
            proxy["phone"] = mask_phone(proxy["phone"])
        out["proxy"] = proxy
    return out


def shown(principal: Principal, agency: str, applicant: Mapping[str, Any]) -> dict[str, Any]:
    return dict(applicant) if may_see_whole(principal, agency) else masked(applicant)
