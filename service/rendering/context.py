"""The template context of a form: its validated data, the values it derives, and what the pipeline adds
(number, serial, verification address, agency, date, form). One function for issuing, previews and tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ..agencies import Agency
from ..forms import FormSpec


def template_context(spec: FormSpec, data: Mapping[str, Any], *, agency: Agency, number: str | None, serial: str,
                     verify_url: str, issued_on: dt.date) -> dict[str, Any]:
    context = spec.context(data, issued_on)
    context.update({
        "number": number,
        "serial": serial,
        "verify_url": verify_url,
        "agency": agency.public(),
        "issued_on": issued_on,
        "form": {"id": spec.id, "title": spec.title},
    })
    return context
