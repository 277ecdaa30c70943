"""What the service knows about one form: its schema, template, numbering and who signs where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .fields import FormSchema

# Names the pipeline puts into every template's context; no form field may use them at the top level.
RESERVED_CONTEXT = frozenset({"number", "serial", "verify_url", "qr", "agency", "issued_on", "form"})


# Parties who sign as the agency's staff, with their own certificates; every other party signs as a
# person outside the agency (online, or at the window), with a certificate made for that one signature.
STAFF_ROLES = frozenset({"handler", "verifier", "onsite_inspector"})


def _always(data: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Party:
    """Someone who signs or seals the paper form, and the printed label their signature goes beside.

    ``present`` says, from the form's data, whether this party takes part (no 委托代理人 when nobody acts
    for the applicant): a party present is required; one absent is skipped."""

    role: str  # "agency", "applicant", "verifier", "onsite_inspector", "proxy" …
    label: str  # the form's own words, e.g. "行政机关（公章）", "申请人签名"
    present: Callable[[Mapping[str, Any]], bool] = _always

    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES


@dataclass(frozen=True)
class FormSpec:
    id: str
    title: str
    source: str  # the seed and section the form comes from
    schema: type[FormSchema]
    template: str  # file name in templates/
    seal: Party | None  # where the issuing agency's seal goes (None: the form is signed by its subject)
    signers: tuple[Party, ...] = ()  # the other parties' signature spots
    number_kind: str | None = None  # "commitment" or "letter": which official number the form carries
    subject: Callable[[Mapping[str, Any]], str] = lambda data: ""  # applicant / subject name, for search
    derive: Callable[[Mapping[str, Any], dt.date], Mapping[str, Any]] | None = None  # computed template values
    unprinted: tuple[str, ...] = ()  # schema fields that drive validation only; the template check allows them unused
    other_agency: tuple[str, ...] = ()  # fields naming another agency: they may not name the issuing agency itself
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def labels(self) -> tuple[str, ...]:
        """The printed labels the signing stage places signature fields and the seal at."""
        return tuple(party.label for party in self.signers) + ((self.seal.label,) if self.seal else ())

    def context(self, data: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
        """The form's part of the template context: the validated data plus derived values."""
        values = dict(data)
        if self.derive is not None:
            values.update(self.derive(data, today))
        return values
