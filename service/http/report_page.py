"""The printable pages the API answers for ``Accept: text/html`` and the CLI writes: the verification report and
a document's 签署证明 (its signing evidence). The same HTML for the API, the CLI and the pages."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from flask import request

from ..verifying.report import VerificationReport

if TYPE_CHECKING:
    from ..evidence import Evidence

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


def render_evidence_html(evidence: Evidence) -> str:
    return _environment().get_template("evidence.html").render(evidence=evidence)


def wants_html() -> bool:
    """Whether the caller prefers the printable page (``Accept: text/html``) to JSON."""
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html" and \
        request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]

