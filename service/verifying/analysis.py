"""What a PDF's signatures say, found with pyHanko — a pure function of the file's bytes, the trust roots and
the time of verification, run in a sandboxed worker process (see ``sandbox.py``) because the file may be
hostile. Each signature is validated as of its timestamped time with the validation data the file embeds
(``timing.py``).

No verdict here: the findings go back to the service, which matches them with its registry and
decides (``report.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature, validate_pdf_timestamp

from ..errors import UnusablePdf
from . import timing
from .permitted_changes import ISSUED_DOCUMENT_POLICY, metadata_changes

SERIAL = re.compile(r"登记编号\s*(\d{4}-\d{8}-[0-9A-Z]{4})")
# Our forms carry the agency's signature, a few parties' and, over the years, archival timestamps: far fewer.
# A crafted copy with thousands of fields pointing at one signature made each upload take the full time limit.
MAX_SIGNATURES = 32


@dataclass(frozen=True)
class SignatureFinding:
    field: str
    signer: str  # the certificate's common name
    signer_subject: str
    signer_units: tuple[str, ...]  # the subject's organizational units
    intact: bool
    valid: bool
    trusted: bool
    certification: bool
    docmdp_ok: bool | None
    coverage: str  # entire_file | entire_revision | contiguous_block_from_start | unclear
    modifications: str | None  # none | lta_updates | form_filling | annotations | other
    signed_at: str | None  # the signer's own claim
    timestamp: str | None  # from a timestamp token that validated
    timestamp_trusted: bool
    cert_valid_at_signing: bool
    revision: int
    revision_end: int  # bytes of the file this signature covers
    reason: str
    error: str | None = None
    timestamp_tsa_sha256: str | None = None  # of the certificate that signed the timestamp (the report knows which are development ones)
    level: str = timing.B_B  # B-B | B-T | B-LT | B-LTA
    validation_time: str | None = None  # the moment the chain was validated as of: the trusted timestamp's, else the verification's
    signer_sha256: str | None = None  # of the signer's certificate (the registry may know it was compromised)
    signer_not_after: str | None = None
    revoked_at: str | None = None  # the earliest revocation of the signer's certificate the file's validation data shows
    algorithm: str | None = None  # signature-digest, as the signer info says: sm2-sm3 | rsa-sha256 | ecdsa-sha256 | …


@dataclass(frozen=True)
class TimestampFinding:
    """A document timestamp (PAdES B-LTA): a TSA's token over the whole file as it then stood."""

    field: str
    intact: bool
    valid: bool
    trusted: bool
    invisible: bool  # its widget has no area: it shows nothing on any page
    coverage: str
    timestamp: str | None
    revision: int
    revision_end: int
    error: str | None = None
    tsa_not_after: str | None = None  # until when the TSA's certificate is valid: the archive needs renewing before


@dataclass(frozen=True)
class PdfAnalysis:
    signatures: tuple[SignatureFinding, ...]
    revisions: int
    serial: str | None  # from the certification signature's (signed) reason
    certified_sha256: str | None  # of the revision the certification signature covers
    fields_certified: tuple[str, ...]  # signature fields present in the certified revision
    fields_now: tuple[str, ...]  # signature fields in the latest revision
    unreadable: tuple[str, ...] = ()  # filled signature fields whose signature cannot even be read
    metadata_changed: tuple[str, ...] = ()  # /Info keys (or "XMP") changed after certification, beyond the signing tool's own
    timestamps: tuple[TimestampFinding, ...] = ()  # document timestamps, in signing order
    # of the file as it may have been issued: the certified revision, and each later revision up to the first later
    # signature (the validation data and the document timestamp of B-LTA); the registry holds one of them
    issued_sha256: tuple[str, ...] = ()
    has_dss: bool = False  # the latest revision has a document security store (validation data)
    checked_at: str | None = None  # the time of verification the signatures without a trusted timestamp were validated as of


def _name(level: object | None) -> str | None:
    return None if level is None else getattr(level, "name", str(level)).lower()


def _common_name(cert: object) -> tuple[str, str]:
    try:
        subject = cert.subject  # type: ignore[attr-defined]
        return str(subject.native.get("common_name", "")), subject.human_friendly
    except Exception:  # noqa: BLE001 - a malformed certificate leaves the names empty
        return "", ""


def _units(cert: object) -> tuple[str, ...]:
    """The certificate subject's organizational units (where the service names a staff or an event certificate)."""
    try:
        units = cert.subject.native.get("organizational_unit_name")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return ()
    return tuple(units) if isinstance(units, list) else (str(units),) if units else ()


def _open(pdf: bytes) -> PdfFileReader:
    if not pdf.lstrip()[:5].startswith(b"%PDF-") and b"%PDF-" not in pdf[:1024]:
        raise UnusablePdf("不是 PDF 文件", "this is not a PDF file", code="not_a_pdf")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
        reader.root  # noqa: B018 - forces the catalogue to be read
    except RecursionError:
        raise UnusablePdf("PDF 结构嵌套过深，无法核验", "the PDF is nested too deeply to be checked", code="pdf_too_complex") from None
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise UnusablePdf("PDF 文件已损坏或不完整，无法核验", f"the PDF is damaged or incomplete ({type(exc).__name__})", code="damaged_pdf") from None
    if reader.encrypted:
        raise UnusablePdf("PDF 文件已加密，无法核验；请上传未加密的原件", "the PDF is encrypted; upload the unencrypted original", code="encrypted_pdf")
    return reader


_MECHANISMS = {"rsassa_pkcs1v15": "rsa", "rsassa_pss": "rsa-pss"}


def _algorithm(sig: EmbeddedPdfSignature) -> str | None:
    """The signature's algorithm and digest as its signer info names them (``sm2-sm3``, ``rsa-sha256``, ``ecdsa-sha256``)."""
    try:
        info = sig.signer_info
        mechanism = info["signature_algorithm"].signature_algo
        digest = info["digest_algorithm"]["algorithm"].native
    except Exception:  # noqa: BLE001 - an unreadable or unknown algorithm is not named
        return None
    return f"{_MECHANISMS.get(mechanism, mechanism)}-{digest}".replace("_", "-")


def _field_names(handler: object) -> tuple[str, ...]:
    return tuple(sorted(name for name, _value, _ref in fields.enumerate_sig_fields(handler)))  # type: ignore[arg-type]


def _validate(sig: EmbeddedPdfSignature, roots: Sequence[x509.Certificate], embedded: timing.EmbeddedData,
              moment: dt.datetime) -> object:
    at = timing.context(roots, embedded, moment)
    return validate_pdf_signature(sig, at, ts_validation_context=at, diff_policy=ISSUED_DOCUMENT_POLICY)


def _finding(sig: EmbeddedPdfSignature, roots: Sequence[x509.Certificate], embedded: timing.EmbeddedData, now: dt.datetime,
             archived: bool) -> SignatureFinding:
    """``archived``: a valid document timestamp follows the signature."""
    _, _, start2, len2 = (list(sig.byte_range) + [0, 0, 0, 0])[:4]
    revision_end = int(start2) + int(len2)
    reason = str(sig.sig_object.get("/Reason", ""))
    certification = sig.docmdp_level is not None
    base = {"field": str(sig.field_name), "certification": certification, "revision": int(sig.signed_revision),
            "revision_end": revision_end, "reason": reason, "algorithm": _algorithm(sig)}
    try:
        claimed = timing.claimed_signature_time(sig.signer_info)
        timestamped = claimed is not None
        moment = claimed or now
        status = _validate(sig, roots, embedded, moment)
        ts = status.timestamp_validity
        if timestamped and not (ts is not None and ts.intact and ts.valid and ts.trusted):
            timestamped, moment = False, now  # the timestamp proves no time: nothing but the present to validate as of
            status = _validate(sig, roots, embedded, moment)
            ts = status.timestamp_validity
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to validate is a finding, not a crash
        signer, subject = _common_name(getattr(sig, "signer_cert", None))
        return SignatureFinding(signer=signer, signer_subject=subject, signer_units=_units(getattr(sig, "signer_cert", None)), intact=False, valid=False, trusted=False,
                                docmdp_ok=None, coverage="unclear", modifications=None, signed_at=None, timestamp=None,
                                timestamp_trusted=False, cert_valid_at_signing=False, error=type(exc).__name__, **base)
    signer, subject = _common_name(status.signing_cert)
    timestamp = ts.timestamp if ts is not None and ts.intact and ts.valid else None
    tsa_sha256 = hashlib.sha256(ts.signing_cert.dump()).hexdigest() if timestamp is not None and ts.signing_cert is not None else None
    when = timestamp or status.signer_reported_dt
    cert = status.signing_cert
    valid_then = when is not None and cert.not_valid_before <= when <= cert.not_valid_after
    details = status.revocation_details
    revoked = [d for d in (getattr(details, "revocation_date", None), timing.revocation_date(cert, embedded.crls)) if d is not None]
    return SignatureFinding(
        signer=signer,
        signer_subject=subject,
        signer_units=_units(status.signing_cert),
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        docmdp_ok=status.docmdp_ok,
        coverage=_name(status.coverage) or "unclear",
        modifications=_name(status.modification_level),
        signed_at=status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
        timestamp=timestamp.isoformat() if timestamp else None,
        timestamp_trusted=bool(ts is not None and ts.trusted),
        cert_valid_at_signing=valid_then,
        timestamp_tsa_sha256=tsa_sha256,
        level=timing.level(timestamped=timestamped, embedded=embedded, trusted=bool(status.trusted), archived=archived),
        validation_time=moment.isoformat(),
        signer_sha256=hashlib.sha256(cert.dump()).hexdigest(),
        signer_not_after=cert.not_valid_after.isoformat(),
        revoked_at=min(revoked).isoformat() if revoked else None,
        **base,
    )


_EOF = re.compile(rb"%%EOF(\r\n|\r|\n)?")
MAX_ISSUED_CANDIDATES = 16


def _issued_candidates(pdf: bytes, certification: SignatureFinding, findings: tuple[SignatureFinding, ...]) -> tuple[str, ...]:
    """SHA-256 of the file up to the end of the certified revision, and up to the end of each revision after it
    and before the first later signature. Whatever follows such a prefix is what the difference analysis of the
    certification judged."""
    bound = min((f.revision_end for f in findings if f.revision > certification.revision), default=len(pdf))
    ends = sorted({certification.revision_end} | {m.end() for m in _EOF.finditer(pdf, certification.revision_end, bound)})
    return tuple(hashlib.sha256(pdf[:end]).hexdigest() for end in ends[:MAX_ISSUED_CANDIDATES])


def _invisible(sig: EmbeddedPdfSignature) -> bool:
    try:
        rect = [float(v) for v in sig.sig_field.get("/Rect", [0, 0, 0, 0])]
    except (TypeError, ValueError):
        return False
    return len(rect) == 4 and (rect[2] - rect[0]) * (rect[3] - rect[1]) == 0


def _timestamp_finding(sig: EmbeddedPdfSignature, roots: Sequence[x509.Certificate], embedded: timing.EmbeddedData,
                       now: dt.datetime) -> TimestampFinding:
    """A document timestamp, validated as of the time it claims (its TSA's chain then, with the embedded data)."""
    _, _, start2, len2 = (list(sig.byte_range) + [0, 0, 0, 0])[:4]
    base = {"field": str(sig.field_name), "revision": int(sig.signed_revision), "revision_end": int(start2) + int(len2),
            "invisible": _invisible(sig)}
    try:
        at = timing.context(roots, embedded, timing.token_time(sig.signed_data) or now)
        # no difference analysis of its own: what follows a document timestamp also follows the certification, whose
        # analysis judges it; run again for the timestamp it cost ~140 ms an upload and decided nothing
        status = validate_pdf_timestamp(sig, validation_context=at, skip_diff=True)
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to validate is a finding, not a crash
        return TimestampFinding(intact=False, valid=False, trusted=False, coverage="unclear", timestamp=None, error=type(exc).__name__, **base)
    return TimestampFinding(intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted),
                            coverage=_name(status.coverage) or "unclear",
                            timestamp=status.timestamp.isoformat() if status.timestamp else None,
                            tsa_not_after=status.signing_cert.not_valid_after.isoformat() if status.signing_cert else None, **base)


def analyse(pdf: bytes, trust_roots: list[str], now: dt.datetime | None = None) -> PdfAnalysis:
    """Every signature of ``pdf`` checked against ``trust_roots`` (file paths), as of its timestamped time, or
    ``now`` (default: the clock) for one without.

    Raises UnusablePdf for what is not a usable PDF (not a PDF, damaged, encrypted, too complex).
    """
    now = now or dt.datetime.now(dt.UTC)
    reader = _open(pdf)
    roots = list(load_certs_from_pemder(trust_roots))
    try:
        signed, unreadable = _signatures(reader)
        data = timing.read_embedded(reader)
        timestamps = tuple(_timestamp_finding(sig, roots, data, now) for sig in signed if sig.sig_object_type == "/DocTimeStamp")
        archived = [t.revision for t in timestamps if t.intact and t.valid and t.trusted]
        findings = tuple(_finding(sig, roots, data, now, archived=any(r > sig.signed_revision for r in archived))
                         for sig in signed if sig.sig_object_type != "/DocTimeStamp")
        has_dss = "/DSS" in reader.root
        fields_now = _field_names(reader)
        certification = next((f for f in findings if f.certification), None)
        serial = certified_sha256 = None
        issued_sha256: tuple[str, ...] = ()
        fields_certified: tuple[str, ...] = ()
        metadata_changed: tuple[str, ...] = ()
        if certification is not None:
            match = SERIAL.search(certification.reason)
            serial = match.group(1) if match else None
            certified_sha256 = hashlib.sha256(pdf[: certification.revision_end]).hexdigest()
            issued_sha256 = _issued_candidates(pdf, certification, findings)
            fields_certified = _field_names(reader.get_historical_resolver(certification.revision))
            metadata_changed = metadata_changes(reader, certification.revision)
        revisions = reader.xrefs.total_revisions
    except RecursionError:
        raise UnusablePdf("PDF 结构嵌套过深，无法核验", "the PDF is nested too deeply to be checked", code="pdf_too_complex") from None
    except (PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise UnusablePdf("PDF 文件已损坏，无法核验", f"the PDF is damaged ({type(exc).__name__})", code="damaged_pdf") from None
    return PdfAnalysis(findings, revisions, serial, certified_sha256, fields_certified, fields_now, unreadable, metadata_changed,
                       timestamps=timestamps, has_dss=has_dss, issued_sha256=issued_sha256, checked_at=now.isoformat())


def _signatures(reader: PdfFileReader) -> tuple[list[EmbeddedPdfSignature], tuple[str, ...]]:
    """The signatures in signing order, and the fields whose signature cannot be read (a forger's
    broken /ByteRange or /Contents): reported, where pyHanko's own collection would give up on the file."""
    readable, unreadable = [], []
    filled = list(fields.enumerate_sig_fields(reader, filled_status=True))
    if len(filled) > MAX_SIGNATURES:
        raise UnusablePdf(f"文件含有 {len(filled)} 个已签名的签名域，本服务的文书至多 {MAX_SIGNATURES} 个：文件被篡改或不是本服务的文书",
                          f"the file has {len(filled)} signed signature fields, where this service's documents have at most "
                          f"{MAX_SIGNATURES}: it was tampered with or is not one of ours", code="too_many_signatures")
    for name, _value, field in filled:
        try:
            readable.append(EmbeddedPdfSignature(reader, field, name))
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - whatever is wrong with it, the signature is unusable
            unreadable.append(str(name))
    return sorted(readable, key=lambda sig: sig.signed_revision), tuple(sorted(unreadable))
