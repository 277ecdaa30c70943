"""A form's data for a case: what the case and its catalogue item already know, so that nobody types it again.

Two layers: ``fixed`` comes from the case and the catalogue (the applicant, the item's legal basis …) and may
not be overridden — a wrong value there is corrected in the case or the catalogue, not on one paper; the
``defaults`` are what a clerk may still change (a fixed None: the case leaves it out, and so must the paper) (the date, the committed conditions). The caller's ``data``
adds what the case cannot know (the findings of a verification, the on-site record).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidData, bilingual
from .catalogue import basis_text


def _person(applicant: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": applicant["name"], "phone": applicant["phone"], "id_type": applicant["id_type"], "id_number": applicant["id_number"]}


def _letter_proxy(applicant: Mapping[str, Any]) -> dict[str, Any] | None:
    proxy = applicant.get("proxy")
    if not proxy:
        return None
    return {"name": proxy["name"], "id_type": proxy["id_type"], "id_number": proxy["id_number"], "authorisation": proxy["authorisation"]}


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _commitment_letter(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    fixed = {
        "matter": item["matter"],
        "applicant": _person(case.applicant),
        "agency_contact": dict(item["contact"]),
        "proof_item": item["name"],
        "proof_purpose": item.get("purpose") or item["content"],
        "legal_basis": basis_text(item),
        "proof_content": item["content"],
        "willing": True,
        "proxy_allowed": item["proxy_allowed"],
        "credit_catalogue": item["credit_catalogue"],
        "consequences": list(item["consequences"]),
        "disclosure": dict(item["disclosure"]),
        "no_serious_bad_credit": True,
    }
    fixed["proxy"] = _letter_proxy(case.applicant)  # None: the case has no proxy, and the letter may not add one
    return fixed, {"conditions_met": list(item["conditions"]), "sign_date": _iso(today)}


def _permit_letter(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    applicant = case.applicant
    fixed = {
        "matter": item["name"],
        "applicant": {"name": applicant["name"], "credit_code": applicant["id_number"],
                      "legal_representative": applicant.get("legal_representative") or "", "phone": applicant["phone"]},
        "agency_contact": dict(item["contact"]),
        "legal_basis": basis_text(item),
        "permit_conditions": list(item["conditions"]),
        "required_materials": list(item["materials"]),
        "supervision": [item["supervision"]],
        "credit_catalogue": item["credit_catalogue"],
        "consequences": list(item["consequences"]),
        "disclosure": dict(item["disclosure"]),
        "no_serious_bad_credit": True,
    }
    return fixed, {"sign_date": _iso(today)}


def _credit_common(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date) -> tuple[dict, dict]:
    applicant = case.applicant
    fixed = {
        "matter": item["matter"],
        "applicant": {"name": applicant["name"], "id_type": applicant["id_type"], "id_number": applicant["id_number"]},
        "department": agency.name,
        "no_serious_bad_credit": True,
    }
    defaults = {"sign_date": _iso(today)}
    if item.get("window"):
        fixed["window"] = item["window"]
    return fixed, defaults


def _credit_disclosure(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    return _credit_common(case, item, agency, today)


def _credit_substitution(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    fixed, defaults = _credit_common(case, item, agency, today)
    defaults["substituted"] = list(item["conditions"])
    return fixed, defaults


def _credit_tolerance(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    fixed, defaults = _credit_common(case, item, agency, today)
    tolerance = case.facts.get("tolerance") or {}
    fixed["missing_materials"] = list(tolerance.get("missing_materials", []))
    fixed["deadline"] = tolerance.get("supply_by")
    proxy = case.applicant.get("proxy")
    fixed["proxy"] = {"name": proxy["name"], "id_number": proxy["id_number"]} if proxy else None
    defaults["matter_category"] = "一般事项"
    return fixed, defaults


def _committed(context: Mapping[str, Any], item: Mapping[str, Any]) -> list[str]:
    """What the applicant committed to for ``item``: the signed letter's conditions, else the item's."""
    letter = context.get("letter") or {}
    return list(letter.get("conditions_met") or letter.get("permit_conditions") or letter.get("substituted") or item["conditions"])


def _matter(item: Mapping[str, Any]) -> str:
    matter = item["matter"].strip()
    return matter[:-2] if matter.endswith("事项") and len(matter) > 2 else matter


def _internal(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    plan = item["verification"]
    fixed = {"department": agency.name, "system": plan.get("system") or "", "applicant": case.applicant["name"]}
    return fixed, {"items": [item["name"]], "verify_date": _iso(today)}


def _onsite(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    fixed = {"department": agency.name, "applicant": case.applicant["name"]}
    return fixed, {"items": [{"name": item["name"], "conforms": True}], "inspection_date": _iso(today), "record_date": _iso(today)}


def _assistance(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    plan = item["verification"]
    fixed = {"addressee": plan.get("agency") or "", "visit_date": case.received_on, "applicant": case.applicant["name"],
             "matter": _matter(item)}
    return fixed, {"items": _committed(context, item), "letter_date": _iso(today)}


def _assistance_written(case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, context: Mapping[str, Any]) -> tuple[dict, dict]:
    fixed, defaults = _assistance(case, item, agency, today, context)
    defaults["reply_days"] = item["verification"].get("reply_days") or 5
    return fixed, defaults


BUILDERS = {
    "commitment-letter": _commitment_letter,
    "business-permit-commitment": _permit_letter,
    "credit-commitment-disclosure": _credit_disclosure,
    "credit-commitment-tolerance": _credit_tolerance,
    "credit-commitment-substitution": _credit_substitution,
    "internal-verification": _internal,
    "onsite-verification": _onsite,
    "assistance-request-written": _assistance_written,
    "assistance-request-visit": _assistance,
}


def layers(form: str, case: Any, item: Mapping[str, Any], agency: Any, today: dt.date,
           context: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(fixed, defaults)`` for ``form``: what the case and catalogue fix, and what a clerk may still change."""
    return BUILDERS[form](case, item, agency, today, context or {})


def form_data(form: str, case: Any, item: Mapping[str, Any], agency: Any, today: dt.date, data: Mapping[str, Any] | None,
              context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The data to issue ``form`` for ``case`` and ``item``; ``context`` holds the signed letter's data.

    Raises InvalidData when ``data`` tries to change what the case or the catalogue fixes (``data.<field>``).
    """
    fixed, defaults = layers(form, case, item, agency, today, context)
    extra = dict(data or {})
    clashes = {f"data.{name}": [bilingual("此项由办件和事项目录填写，不能在此修改；请修改办件或事项目录",
                                          "this comes from the case and the item catalogue: correct it there, not on one paper")]
               for name in extra if name in fixed and extra[name] != fixed[name]}
    if clashes:
        raise InvalidData(clashes)
    return {**defaults, **extra, **{name: value for name, value in fixed.items() if value is not None}}
