"""Archival timestamps: keeping a PAdES B-LTA document verifiable after its TSA's certificate ends.

A document's evidence lasts as long as the certificate of the TSA that signed its last timestamp (the last
document timestamp, or a signature's timestamp where there is none). Before that certificate ends, a new
document timestamp, from a TSA whose certificate ends later, is added over the whole file, after the
validation data (certificates, CRLs, OCSP) of the last one: pyHanko's
``PdfTimeStamper.async_update_archival_timestamp_chain`` writes both. This module reads which certificate a
document hangs on, asks the TSA which certificate it signs with now, and renews; it decides nothing.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from asn1crypto import cms, x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, dummy_digest
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator.errors import ValidationError

from ..errors import SigningError, TimestampUnavailable
from .revocation import RevocationSource
from .sync import run_sync

MD_ALGORITHM = "sha256"


@dataclass(frozen=True)
class LastTimestamp:
    """The timestamp a document's evidence currently rests on."""

    kind: str  # document (a document timestamp) | signature (a signature's own timestamp: there is no document timestamp)
    field: str  # the signature field that holds it
    at: dt.datetime | None  # the time it states
    tsa_cert: x509.Certificate  # the certificate that signed it
    chain: tuple[x509.Certificate, ...]  # the other certificates the token embeds (the TSA's CA chain)

    @property
    def not_after(self) -> dt.datetime:
        """When the TSA's certificate ends: the evidence must be renewed before."""
        return self.tsa_cert.not_valid_after


def _token_timestamp(signed_data: cms.SignedData, field: str, kind: str) -> LastTimestamp:
    info = extract_certificate_info(signed_data)
    tst_info = signed_data["encap_content_info"]["content"].parsed
    return LastTimestamp(kind=kind, field=field, at=tst_info["gen_time"].native, tsa_cert=info.signer_cert,
                         chain=tuple(info.other_certs))


def last_timestamp(pdf: bytes) -> LastTimestamp | None:
    """The last document timestamp of ``pdf``, or, if it has none, the timestamp of its last signature; None when it has
    neither. Raises SigningError when the PDF or a timestamp token in it cannot be read."""
    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        stamps = [s for s in signatures if s.sig_object_type == "/DocTimeStamp"]
        if stamps:
            return _token_timestamp(stamps[-1].signed_data, stamps[-1].field_name, "document")
        for signature in reversed(signatures):
            unsigned = signature.signer_info["unsigned_attrs"]
            tokens = [a["values"][0] for a in unsigned if a["type"].native == "signature_time_stamp_token"] if unsigned else []
            if tokens:
                return _token_timestamp(tokens[-1]["content"], signature.field_name, "signature")
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise SigningError("存档文书或其中的时间戳无法读取", f"the stored PDF or a timestamp in it cannot be read ({type(exc).__name__})",
                           code="archive_unreadable") from exc
    return None


def current_tsa_certificate(timestamper: TimeStamper) -> x509.Certificate:
    """The certificate ``timestamper``'s TSA signs with now, from one timestamp of a dummy digest. Raises
    TimestampUnavailable."""
    try:
        token = run_sync(lambda: timestamper.async_timestamp(dummy_digest(MD_ALGORITHM), MD_ALGORITHM))
        cert = extract_certificate_info(token["content"]).signer_cert
    except (TimestampRequestError, OSError, ValueError, KeyError) as exc:
        raise TimestampUnavailable("时间戳服务不可用，无法续期", "the timestamping service is unavailable: nothing can be renewed") from exc
    return cert


def add_archival_timestamp(pdf: bytes, last: LastTimestamp, timestamper: TimeStamper, revocation: RevocationSource) -> bytes:
    """``pdf`` with the validation data of its last document timestamp (``last``) and a new document timestamp from
    ``timestamper``, each an incremental update. The revocation data of both TSAs' chains is fetched first, in hard-fail
    mode (``revocation.py``).

    Raises TimestampUnavailable, RevocationUnavailable, SigningError (a certificate revoked or no longer valid; the
    last timestamp does not validate; ``last`` is a signature's timestamp: see below).
    """
    if last.kind != "document":
        # pyHanko's chain starts from a document timestamp; a document without one (issued before PAdES B-LTA) first
        # needs its signatures' validation data, which this does not add.
        raise SigningError("文书没有文档时间戳（签发于 PAdES B-LTA 之前），不能续期",
                           "the document has no document timestamp (issued before PAdES B-LTA): it cannot be renewed", code="not_b_lta")
    context = revocation.context(last.tsa_cert, list(last.chain), timestamper)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamper = PdfTimeStamper(timestamper, field_name=None)
    try:
        out = run_sync(lambda: stamper.async_update_archival_timestamp_chain(reader, context, in_place=False, output=io.BytesIO()))
    except (TimestampRequestError, OSError) as exc:
        raise TimestampUnavailable("时间戳服务不可用，未续期", "the timestamping service is unavailable; nothing was renewed") from exc
    except (SignatureValidationError, ValidationError) as exc:
        raise SigningError("上一个时间戳无法验证，未续期", f"the last timestamp does not validate ({type(exc).__name__}); nothing was renewed",
                           code="last_timestamp_invalid") from exc
    except (PyHankoSigningError, PdfError, ValueError, KeyError) as exc:
        raise SigningError("续期失败", f"the archival timestamp could not be added ({type(exc).__name__})") from exc
    return out.getvalue()
