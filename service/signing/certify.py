"""The signing stage: the issuing agency certifies the PDF (DocMDP: form filling and signing allowed),
PAdES B-LTA: the signature with an RFC 3161 timestamp, with its round seal where the form is stamped,
then the chains' certificates and revocation data in the document security store, then a document
timestamp (``revocation.py``; pyHanko writes all three revisions). Before signing, an empty signature
field is added for every other party the form names — so that their signatures later are permitted
changes under the certification. Each party's signature ends the same way (``party.py``): the newest
revision of a document is always a document timestamp over everything before it, with the data to
validate every signature and timestamp in it embedded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import StaticStampStyle

from ..agencies import Agency
from ..errors import SigningError, TimestampUnavailable
from ..forms import FormSpec
from . import spots
from .agency_seals import AgencySeals
from .cross_seal import CrossPageSeal
from .keys import KeyStore
from .revocation import RevocationSource
from .seal import seal_png
from .seal_stamp import EncodedImage, encode_image, seal_stamp_style
from .sync import run_sync

log = logging.getLogger(__name__)

AGENCY_FIELD = "agency"
# Room for the CMS: signer chain (3 RSA-2048 certificates), signed attributes and the TSA token with
# its chain. Reserving it up front spares pyHanko a dummy signature (and a dummy timestamp) per PDF.
BYTES_RESERVED = 16 * 1024


@dataclass(frozen=True)
class SignatureRequest:
    spec: FormSpec
    agency: Agency
    serial: str
    number: str | None
    verify_url: str


class DocumentSigner:
    def __init__(self, keys: KeyStore, timestamper: Callable[[], TimeStamper], revocation: RevocationSource, *,
                 seals: AgencySeals | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.keys = keys
        self.timestamper = timestamper
        self.revocation = revocation
        self.seals = seals or AgencySeals()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._seals: dict[str, EncodedImage] = {}
        self._calibrations: dict[tuple[str, str], spots.Calibration] = {}
        self.cross_seal = CrossPageSeal()

    def seal_picture(self, agency: Agency) -> bytes:
        """The agency's seal image: its electronic seal's picture (``seal_file``), its own image file, or drawn from its
        name. Raises OSError."""
        picture = self.seals.picture(agency)
        if picture is not None:
            return picture
        return agency.seal_image.read_bytes() if agency.seal_image else seal_png(agency.name)

    def seal_style(self, agency: Agency) -> StaticStampStyle:
        """A new stamp style per signature (pyHanko keeps per-PDF state on it), over pixels encoded once."""
        image = self._seals.get(agency.id)
        if image is None:
            image = self._seals.setdefault(agency.id, encode_image(self.seal_picture(agency)))
        return seal_stamp_style(image)

    def apply_cross_seal(self, writer: IncrementalPdfFileWriter, agency: Agency) -> None:
        """The 骑缝章 across the right edges of a document of two pages or more (cross_seal.py), written
        before the certification so that it covers them. Raises SigningError."""
        try:
            self.cross_seal.apply(writer, agency.id, lambda: self.seal_picture(agency))
        except (PdfError, OSError, ValueError) as exc:
            raise SigningError("骑缝章加盖失败，文书未签发", f"the cross-page seal could not be applied ({type(exc).__name__})") from exc

    def locate_labels(self, pdf: bytes, reader: PdfFileReader, spec: FormSpec) -> tuple[dict[str, spots.Label], tuple[int, float, float]]:
        """Each label's box on the page (see spots.py: bookmarks once calibrated, else PDFium), and the
        last page as (index, width, height)."""
        page_list = spots.pages(reader)
        marks = spots.marks(reader, spec.labels, page_list)
        found: dict[str, spots.Label] = {}
        for label, mark in marks.items():
            calibration = self._calibrations.get((spec.id, label))
            if calibration is not None and calibration.fits(mark):
                found[label] = calibration.apply(mark)
        missing = [label for label in spec.labels if label not in found]
        if missing:
            for label, box in spots.find_labels(pdf, missing).labels.items():
                found[label] = box
                if label in marks:
                    self._calibrations[(spec.id, label)] = spots.Calibration.between(box, marks[label])
        for label in spec.labels:
            if label not in found:
                log.warning("%s: label %r not found on the rendered page; using a default position", spec.id, label)
        _, width, height = page_list[-1]
        return found, (len(page_list) - 1, width, height)

    def sign(self, pdf: bytes, request: SignatureRequest) -> bytes:
        """The certified PDF, PAdES B-LTA. Raises SealExpired (the agency's electronic seal is not valid now),
        SigningKeyUnavailable, TimestampUnavailable, RevocationUnavailable or SigningError."""
        spec, agency = request.spec, request.agency
        self.seals.check(agency, self.clock())
        signer = self.keys.signer(agency)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        found, last = self.locate_labels(pdf, writer.prev, spec)
        for slot, party in enumerate(spec.signers):
            box = spots.field_box(found.get(party.label), last, slot)
            fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=party.role, on_page=box.page, box=box.rect))
        if spec.seal:
            box = spots.seal_box(found.get(spec.seal.label), last)
            seal_field = fields.SigFieldSpec(sig_field_name=AGENCY_FIELD, on_page=box.page, box=box.rect)
        else:
            seal_field = fields.SigFieldSpec(sig_field_name=AGENCY_FIELD, on_page=last[0])  # invisible
        fields.append_signature_field(writer, seal_field)
        if spec.seal:
            self.apply_cross_seal(writer, agency)

        title = f"{spec.title}{' ' + request.number if request.number else ''}"
        meta = writer.document_meta
        meta.title = title
        meta.author = agency.name
        meta.subject = f"登记编号 {request.serial}"
        meta.keywords = [request.serial] + ([request.number] if request.number else [])
        meta.creator = "chengnuo"
        metadata = signers.PdfSignatureMetadata(
            field_name=AGENCY_FIELD,
            certify=True,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sm3" if agency.sm2 else "sha256",
            name=agency.name,
            reason=f"签发{spec.title}（登记编号 {request.serial}）",
            location=agency.name,
            contact_info=request.verify_url,
            embed_validation_info=True,
            use_pades_lta=True,
        )
        try:
            timestamper = self.timestamper()
            assert signer.signing_cert is not None
            metadata = dataclasses.replace(
                metadata, validation_context=self.revocation.context(signer.signing_cert, list(signer.cert_registry), timestamper))
            pdf_signer = signers.PdfSigner(
                metadata, signer=signer, timestamper=timestamper, stamp_style=self.seal_style(agency) if spec.seal else None
            )
            out = run_sync(lambda: pdf_signer.async_sign_pdf(writer, existing_fields_only=True, bytes_reserved=BYTES_RESERVED))
        except SigningError:  # ours: the key, the timestamp, the revocation data
            raise
        except (TimestampRequestError, OSError) as exc:
            raise TimestampUnavailable("时间戳服务不可用，文书未签发", "the timestamping service is unavailable; nothing was issued") from exc
        except (PyHankoSigningError, ValueError, KeyError) as exc:
            raise SigningError("文书签名失败", f"signing failed ({type(exc).__name__})") from exc
        return out.getvalue()
