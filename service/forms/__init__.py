"""The form catalogue: one :class:`FormSpec` per form of FORMS.md, in its order."""

from __future__ import annotations

from ..errors import NotFound
from . import assistance, catalog, commitment, credit, liaison, verification
from .spec import RESERVED_CONTEXT, FormSpec, Party

_ORDER = (
    "liaison-form",
    "item-catalog",
    "commitment-letter",
    "business-permit-commitment",
    "internal-verification",
    "onsite-verification",
    "assistance-request-written",
    "assistance-request-visit",
    "assistance-reply",
    "credit-commitment-disclosure",
    "credit-commitment-tolerance",
    "credit-commitment-substitution",
)

_ALL = {spec.id: spec for module in (liaison, catalog, commitment, verification, assistance, credit) for spec in module.FORMS}
CATALOGUE: dict[str, FormSpec] = {form_id: _ALL[form_id] for form_id in _ORDER if form_id in _ALL}


def get_form(form_id: str) -> FormSpec:
    """The form with this id; raises NotFound."""
    try:
        return CATALOGUE[form_id]
    except (KeyError, TypeError):
        raise NotFound(f"没有编号为 {form_id!r} 的表单", f"there is no form {form_id!r}", code="unknown_form") from None


__all__ = ["CATALOGUE", "RESERVED_CONTEXT", "FormSpec", "Party", "get_form"]
