"""Agencies' electronic seals (``seal_file`` in agencies.toml: a GB/T 38540 ``SESeal``, ``gm/eseal.py``).

At start each configured seal is read and verified against the service's trust roots: one that is not a seal, is
not signed by a trusted seal maker, carries no PNG picture or another agency's name refuses the start, naming the
agency. A seal outside its validity window does not: the service starts, and refuses to sign for that agency (503
``seal_expired``, the drawn number voided) until a new seal is configured; /healthz names the agency. The seal's
picture is what the service draws as the agency's seal (``certify.py``), on the signature and across the pages.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from asn1crypto import x509

from ..agencies import Agency
from ..errors import ConfigurationError, SealExpired, UnusableSeal
from ..gm.eseal import SealReport, verify_seal

log = logging.getLogger(__name__)


def _refused(agency: Agency, zh: str, en: str) -> ConfigurationError:
    return ConfigurationError(f"机关 {agency.name}（{agency.id}）的电子印章 {agency.seal_file} 不可用：{zh}",
                              f"the electronic seal {agency.seal_file} of agency {agency.id} ({agency.name}) is unusable: {en}")


def _when(moment: dt.datetime, now: dt.datetime) -> str:
    return moment.astimezone(now.tzinfo).isoformat(timespec="minutes")


class AgencySeals:
    """The verified seals of the agencies that have one, by agency id."""

    def __init__(self, reports: Mapping[str, SealReport] | None = None) -> None:
        self.reports = MappingProxyType(dict(reports or {}))

    @classmethod
    def load(cls, agencies: Iterable[Agency], trust_roots: Callable[[], Sequence[x509.Certificate]], now: dt.datetime) -> AgencySeals:
        """Reads and verifies every agency's ``seal_file`` at ``now``; ``trust_roots`` is called once, if any agency has
        one. Raises ConfigurationError naming the agency whose seal is unusable (ConfigurationError from
        ``trust_roots`` too)."""
        sealed = [agency for agency in agencies if agency.seal_file is not None]
        if not sealed:
            return cls()
        roots = list(trust_roots())
        reports: dict[str, SealReport] = {}
        for agency in sealed:
            assert agency.seal_file is not None
            try:
                der = agency.seal_file.read_bytes()
            except OSError as exc:
                raise _refused(agency, "文件无法读取", f"the file cannot be read ({exc.strerror or type(exc).__name__})") from None
            try:
                report = verify_seal(der, roots, at=now)
            except UnusableSeal as exc:
                raise _refused(agency, exc.zh, exc.en) from None
            if not report.sound:
                problems = [p for p in report.problems if p.code not in ("expired", "not_yet_valid")]
                raise _refused(agency, "；".join(p.zh for p in problems), "; ".join(p.en for p in problems))
            if report.name != agency.name:
                raise _refused(agency, f"印章名称为“{report.name}”，不是该机关的名称", f"the seal is named {report.name!r}, not after the agency")
            if not report.covers(now):
                log.warning("the electronic seal of %s is not valid now (%s – %s): its documents are refused until a new seal is configured",
                            agency.id, _when(report.valid_start, now), _when(report.valid_end, now))
            reports[agency.id] = report
        return cls(reports)

    def picture(self, agency: Agency) -> bytes | None:
        """The PNG of the agency's electronic seal, or None when it has none."""
        report = self.reports.get(agency.id)
        return report.picture if report is not None else None

    def check(self, agency: Agency, now: dt.datetime) -> None:
        """Whether the agency may seal at ``now``: it has no electronic seal, or ``now`` lies in its window. Raises
        SealExpired (for a seal not yet valid too)."""
        report = self.reports.get(agency.id)
        if report is None or report.covers(now):
            return
        if now > report.valid_end:
            raise SealExpired(f"{agency.name}的电子印章已于 {_when(report.valid_end, now)} 过期，文书未签发；请配置新的电子印章",
                              f"the electronic seal of {agency.name} ({agency.id}) expired on {_when(report.valid_end, now)}; "
                              "nothing was signed: configure a new seal")
        raise SealExpired(f"{agency.name}的电子印章自 {_when(report.valid_start, now)} 起才有效，文书未签发",
                          f"the electronic seal of {agency.name} ({agency.id}) is valid from {_when(report.valid_start, now)} only; "
                          "nothing was signed")

    def status(self, agency: Agency, now: dt.datetime) -> dict[str, Any] | None:
        """For /healthz: the agency's seal and whether it may seal now, or None when it has no electronic seal."""
        report = self.reports.get(agency.id)
        if report is None:
            return None
        status: dict[str, Any] = {"ok": True, "es_id": report.es_id, "valid_from": _when(report.valid_start, now),
                                  "valid_until": _when(report.valid_end, now)}
        try:
            self.check(agency, now)
        except SealExpired as exc:
            status.update(ok=False, error=exc.message)
        return status
