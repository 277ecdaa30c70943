"""The verification report as one printable page: the same HTML for the API, the CLI and the pages."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from ..verifying.report import VerificationReport

VERDICTS = {
    "valid": ("真实有效", "Valid: authentic and unaltered", "ok"),
    "invalid": ("无效", "Invalid: forged, altered or voided", "bad"),
    "indeterminate": ("无法确认", "Indeterminate: cannot be confirmed", "unknown"),
}
CHANGES = {
    "none": "签发后未改动 / unchanged since issue",
    "form_filling_and_signing": "签发后仅有预留签名域的签署 / only the prepared fields were signed since issue",
    "disallowed": "签发后有不允许的改动 / changed beyond what issue permits",
}


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # The pages' templates (report.html extends their base.html), outside a Flask app: the CLI writes the page too.
    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "web" / "templates"), autoescape=True)


def render_report_html(report: VerificationReport) -> str:
    return _environment().get_template("report.html").render(report=report, verdict=VERDICTS[report.verdict], changes=CHANGES)
