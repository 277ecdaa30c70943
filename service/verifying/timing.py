"""When each signature is validated, and with what: validation at the timestamped time (issue 18, part 3).

A signature is checked as of the moment a trusted timestamp proves it existed, with the validation data the
document itself carries (its document security store: certificates, CRLs, OCSP responses) and nothing from
the network. A document signed in 2026 therefore still verifies in 2041, when the agency's certificate, the
TSA's and the CAs' have long expired: what is checked is that they were valid, and not revoked, when it
was signed. Without a trusted timestamp there is no such moment and the signature is checked now.

The time a timestamp claims is only believed once the timestamp itself validates as of that time (its
TSA's chain, with the embedded data); a forged time fails the TSA's signature. Intermediates come from the
signature and the DSS only, never fetched: a verification makes no network request.

Levels (ETSI EN 319 142-1, PAdES baseline):

B-B    a signature with no valid signature timestamp;
B-T    with one;
B-LT   and the validation data of its chain embedded, enough to check revocation without a network;
B-LTA  and a document timestamp over all of it (the archive timestamp that ``ltv renew`` extends).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from asn1crypto import cms, crl, ocsp, x509
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import find_cms_attribute_iter
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from ..gm.validator import GM_VALIDATOR

B_B, B_T, B_LT, B_LTA = "B-B", "B-T", "B-LT", "B-LTA"


@dataclass(frozen=True)
class EmbeddedData:
    """The document security store's validation data, read once per upload."""

    certs: tuple[x509.Certificate, ...] = ()
    crls: tuple[crl.CertificateList, ...] = ()
    ocsps: tuple[ocsp.OCSPResponse, ...] = ()
    present: bool = False  # the document has a DSS at all

    @property
    def revocation_mode(self) -> str:
        """``hard-fail`` where the document carries revocation data (B-LT and above): a certificate that names a CRL or
        OCSP location must then be covered by it. A B-T document carries none; its chain is checked without."""
        return "hard-fail" if self.crls or self.ocsps else "soft-fail"


def read_embedded(reader: PdfFileReader) -> EmbeddedData:
    """The DSS's certificates, CRLs and OCSP responses; nothing when there is none or it cannot be read (the
    signatures are then validated without it, which can only make them less trusted)."""
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # noqa: BLE001 - no DSS, or a broken one: no embedded data
        return EmbeddedData()
    certs: list[x509.Certificate] = []
    crls: list[crl.CertificateList] = []
    ocsps: list[ocsp.OCSPResponse] = []
    try:
        certs.extend(dss.load_certs())
    except Exception:  # noqa: BLE001, S110 - unreadable certificates: the chain is built without them
        pass
    for refs, kind, purpose, into in ((dss.crls, crl.CertificateList, DecodePurpose.CRL, crls),
                                      (dss.ocsps, ocsp.OCSPResponse, DecodePurpose.OCSP_RESPONSE, ocsps)):
        for ref in refs:
            try:
                parsed = kind.load(ref.get_object().read_data(purpose))
                parsed.native  # noqa: B018 - asn1crypto parses lazily: a broken structure fails here, not mid-validation
            except Exception:  # noqa: BLE001, S112 - a damaged entry is left out
                continue
            into.append(parsed)
    return EmbeddedData(tuple(certs), tuple(crls), tuple(ocsps), present=True)


def context(roots: Sequence[x509.Certificate], embedded: EmbeddedData, moment: dt.datetime | None) -> ValidationContext:
    """A context that validates as of ``moment`` (None: now) with the trust roots and the embedded data only; SM2
    signatures (chains, CRLs, signer infos) through the 国密 validator, every other one as pyHanko does."""
    return ValidationContext(trust_roots=list(roots), other_certs=list(embedded.certs), crls=list(embedded.crls),
                             ocsps=list(embedded.ocsps), moment=moment, allow_fetching=False,
                             revocation_mode=embedded.revocation_mode, signature_validator=GM_VALIDATOR)


def token_time(token: cms.SignedData) -> dt.datetime | None:
    """The time a timestamp token claims (its TSTInfo's genTime), unchecked."""
    try:
        value = token["encap_content_info"]["content"].parsed["gen_time"].native
    except Exception:  # noqa: BLE001 - a token that cannot be read claims nothing
        return None
    return value if isinstance(value, dt.datetime) else None


def claimed_signature_time(signer_info: cms.SignerInfo) -> dt.datetime | None:
    """The time the signature's own timestamp token claims, unchecked (the first token's)."""
    try:
        token = next(find_cms_attribute_iter(signer_info["unsigned_attrs"], "signature_time_stamp_token"), None)
    except Exception:  # noqa: BLE001
        return None
    return token_time(token["content"]) if token is not None else None


def revocation_date(cert: x509.Certificate, crls: Iterable[crl.CertificateList]) -> dt.datetime | None:
    """The earliest revocation of ``cert`` that an embedded CRL of its issuer lists, if any (a CRL added later, by
    an archive renewal, can say the key was revoked after the signature)."""
    found: list[dt.datetime] = []
    for listing in crls:
        try:
            if listing.issuer != cert.issuer:
                continue
            for entry in listing["tbs_cert_list"]["revoked_certificates"]:
                if entry["user_certificate"].native == cert.serial_number:
                    found.append(entry["revocation_date"].native)
        except Exception:  # noqa: BLE001, S112 - a damaged CRL says nothing
            continue
    return min(found) if found else None


def level(*, timestamped: bool, embedded: EmbeddedData, trusted: bool, archived: bool) -> str:
    """The PAdES baseline level a signature reaches (module docstring); ``archived``: a valid document timestamp
    follows it."""
    if not timestamped:
        return B_B
    if not (embedded.present and embedded.revocation_mode == "hard-fail" and trusted):
        return B_T
    return B_LTA if archived else B_LT
