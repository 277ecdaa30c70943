"""The service's exceptions, in one place. No Flask here: the HTTP mapping lives in ``http/errors.py``.

    ChengnuoError                      every error we raise on purpose; ``code`` is stable, ``message`` bilingual
    ├── InvalidRequest                 the request itself is malformed (not JSON, wrong shape)        → 400
    ├── InvalidData                    field errors: ``errors`` maps ``field.path`` → [messages]       → 422
    │   └── TemplateRefused            an uploaded template that fails its form's check (by line)      → 422
    ├── UnusablePdf                    an upload that is not a PDF we can check (damaged, encrypted …)  → 422
    ├── PdfTooLarge                    an upload over the size limit                                   → 413
    ├── FileTooLarge                   an import (CSV/XLSX) over its size or row limit                  → 413
    ├── UnsafeTemplate                 an uploaded DOCX template refused before any parser sees it      → 422
    ├── TemplateRenderLimit            an untrusted template took too long, too much memory or output   → 422
    ├── Unauthorized                   no credentials, or bad ones                                    → 401
    ├── Forbidden                      credentials that do not allow this                              → 403
    ├── NotFound                       unknown form, agency or document                               → 404
    ├── Conflict                       idempotency key reused with another body, or still running     → 409
    ├── Gone                           a signing link that has expired                                 → 410
    ├── Locked                         a signing link locked after too many wrong tries                → 423
    ├── ServiceBusy                    every verification worker busy and the queue full              → 503
    ├── StorageUnavailable             the file store (folder, database, S3) cannot be reached         → 503
    ├── StoredFileCorrupt              stored bytes whose SHA-256 is not the registered one; never served → 500
    ├── UnusableSeal                   bytes that are not a GB/T 38540 SESeal at all (gm/eseal.py)      → 422
    ├── PipelineError                  a stage failed; the drawn number is voided with the reason
    │   ├── TemplateError              a DOCX template cannot be rendered                              → 500
    │   ├── ConversionError            LibreOffice failed on the document                              → 502
    │   │   └── ConversionTimeout      … or took longer than the configured limit                      → 504
    │   ├── ConverterBusy              every worker busy and the queue full                             → 503
    │   └── SigningError               the document could not be signed                                 → 500
    │       ├── SigningKeyUnavailable  an agency's key (or the trust roots) cannot be loaded             → 500
    │       │   ├── SigningTokenUnavailable  … on a PKCS#11 token: absent, locked, PIN refused           → 503
    │       │   └── SigningKeyCompromised    … reported compromised (key compromise): a new key is needed → 503
    │       ├── SigningServerUnavailable  an SM2 signing server: no answer in time, refused, a bad signature → 503
    │       ├── SealExpired            the agency's electronic seal (SESeal) is outside its validity window → 503
    │       ├── TimestampUnavailable   the TSA did not give a timestamp                                 → 503
    │       └── RevocationUnavailable  a CRL or OCSP responder of the chain did not answer (PAdES B-LT)   → 503
    └── ConfigurationError             settings or agency file unusable (raised at start)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def bilingual(zh: str, en: str) -> str:
    """One message for people who read either language: Chinese first."""
    return f"{zh} / {en}"


class ChengnuoError(Exception):
    code = "error"

    def __init__(self, zh: str, en: str, *, code: str | None = None) -> None:
        super().__init__(bilingual(zh, en))
        self.zh = zh
        self.en = en
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return bilingual(self.zh, self.en)


class InvalidRequest(ChengnuoError):
    """A malformed request; ``errors`` may name the bad parameters like InvalidData's fields."""

    code = "invalid_request"

    def __init__(self, zh: str, en: str, *, code: str | None = None, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(zh, en, code=code)
        self.errors = dict(errors or {})


class InvalidData(ChengnuoError):
    """Data that fails its form's schema. ``errors`` is flat: ``{"applicant.id_number": ["…"]}``."""

    code = "invalid_data"

    def __init__(self, errors: Mapping[str, list[str]], zh: str = "数据校验未通过", en: str = "the data is invalid") -> None:
        super().__init__(zh, en)
        self.errors = dict(errors)


class TemplateRefused(InvalidData):
    """An uploaded template that fails its form's check: ``problems`` are the check's findings, each by line; ``errors``
    lists them under ``file``."""

    code = "template_refused"

    def __init__(self, problems: Sequence[Mapping[str, Any]]) -> None:
        super().__init__({"file": [f"{p['location']}：{p['zh']} / {p['en']}" for p in problems if p["severity"] == "error"]},
                         "模板未通过检查，不能发布", "the template fails the check and cannot be published")
        self.problems = [dict(p) for p in problems]


class UnusablePdf(ChengnuoError):
    """``notes``: what the parser logged on the way (for the service's log, never for the client)."""

    code = "unusable_pdf"

    def __init__(self, zh: str, en: str, *, code: str | None = None, notes: str = "") -> None:
        super().__init__(zh, en, code=code)
        self.notes = notes


class PdfTooLarge(ChengnuoError):
    code = "pdf_too_large"


class FileTooLarge(ChengnuoError):
    code = "file_too_large"


class UnsafeTemplate(ChengnuoError):
    """An uploaded DOCX template that is not one, or carries what no template may (macros, external links,
    embedded objects, a zip or XML bomb, an oversized image). ``code`` says which: not_docx,
    template_too_large, zip_bomb, unsafe_part_name, xml_entities, active_content, external_link,
    embedded_object, image_too_large, too_many_parts; ``part`` names the package part at fault, if any."""

    code = "unsafe_template"

    def __init__(self, zh: str, en: str, *, code: str | None = None, part: str | None = None) -> None:
        super().__init__(zh, en, code=code)
        self.part = part


class TemplateRenderLimit(ChengnuoError):
    """An untrusted template stopped while rendering: it ran out of time or memory, or made too large a document."""

    code = "template_render_limit"


class Unauthorized(ChengnuoError):
    code = "unauthorized"


class Forbidden(ChengnuoError):
    code = "forbidden"


class NotFound(ChengnuoError):
    code = "not_found"


class Conflict(ChengnuoError):
    code = "conflict"


class Gone(ChengnuoError):
    code = "gone"


class Locked(ChengnuoError):
    code = "locked"


class ServiceBusy(ChengnuoError):
    """Answered at once, with ``retry_after`` seconds, instead of holding a server thread in a queue."""

    code = "busy"

    def __init__(self, zh: str, en: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(zh, en, code=code)
        self.retry_after = retry_after


class StorageUnavailable(ChengnuoError):
    """The file store did not answer, or not completely: nothing is served, the client may retry."""

    code = "storage_unavailable"
    retry_after = 10


class StoredFileCorrupt(ChengnuoError):
    """A stored file's SHA-256 differs from the one the registry recorded: it is refused, not served."""

    code = "stored_file_corrupt"


class UnusableSeal(ChengnuoError):
    """Bytes that do not decode as a GB/T 38540 ``SESeal`` (version 4): nothing in them can be checked."""

    code = "unusable_seal"


class PipelineError(ChengnuoError):
    """A stage of issuing failed after a number was drawn: the number is kept, voided, with this reason."""

    code = "pipeline_failed"


class TemplateError(PipelineError):
    code = "template_error"


class ConversionError(PipelineError):
    code = "conversion_failed"


class ConversionTimeout(ConversionError):
    code = "conversion_timeout"


class ConverterBusy(PipelineError):
    code = "converter_busy"

    def __init__(self, zh: str, en: str, *, retry_after: int = 5) -> None:
        super().__init__(zh, en)
        self.retry_after = retry_after


class SigningError(PipelineError):
    code = "signing_failed"


class SigningKeyUnavailable(SigningError):
    code = "signing_key_unavailable"


class SigningTokenUnavailable(SigningKeyUnavailable):
    """The agency's PKCS#11 token cannot sign now (not present, locked, PIN refused): the same error code, but 503,
    as an operator plugging it back in or fixing the PIN brings the service back without a restart."""


class SigningKeyCompromised(SigningKeyUnavailable):
    """The agency's current certificate has a recorded key compromise (``python -m service key compromise``): nothing
    is signed with it until a new key is configured (or the development PKI rotated it). 503, as the service comes back
    once the operator has done so, without a restart."""

    code = "signing_key_compromised"


class SigningServerUnavailable(SigningError):
    """The HTTP signing server holding an agency's SM2 key did not sign: it did not answer within the timeout, refused
    the credentials, or answered something that is not a valid signature by the agency's key."""

    code = "signing_server_unavailable"


class SealExpired(SigningError):
    """The agency's electronic seal (``seal_file``, a GB/T 38540 SESeal) is not valid at the service's time: expired,
    or not yet valid. Nothing is sealed with it: 503, as a new seal file (and a restart) brings the agency back."""

    code = "seal_expired"


class TimestampUnavailable(SigningError):
    code = "timestamp_unavailable"


class RevocationUnavailable(SigningError):
    """The CRL or OCSP responder a certificate of the chain names does not answer: no signature is made without
    its validation data (PAdES B-LT), as none is made without a timestamp."""

    code = "revocation_unavailable"


class ConfigurationError(ChengnuoError):
    code = "configuration_error"
