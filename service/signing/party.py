"""A party's signature in the field the agency prepared for it: an approval signature (PAdES, SHA-256,
timestamped) added as an incremental update, which the agency's certification permits (form filling and
signing), followed, as the agency's, by the validation data in the DSS and a document timestamp (B-LTA,
``revocation.py``): the archival timestamp is renewed after each party, so it covers the last signature. Its visible appearance is the person's handwritten signature, or their name when there is none.
pyHanko builds the signature; this module hands it the key, the certificate chain and the picture.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from PIL import Image, ImageDraw, ImageFont
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..errors import SigningError, TimestampUnavailable
from .certify import BYTES_RESERVED
from .revocation import RevocationSource
from .seal_stamp import encode_image, seal_stamp_style
from .sync import run_sync

NAME_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@dataclass(frozen=True)
class PartySignature:
    field: str  # the prepared field: the party's role
    name: str  # the signer's name, in the signature dictionary
    reason: str
    location: str
    picture: bytes | None  # PNG of the handwritten signature; None: the name is written instead


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(str(NAME_FONT), size, index=2)  # the SC face of the collection
    except OSError:
        return ImageFont.load_default()


def name_picture(name: str) -> bytes:
    """The name written out, for a signer who has not drawn a signature: black on transparent, like ink."""
    font = _font(96)
    left, top, right, bottom = font.getbbox(name)
    image = Image.new("RGBA", (right - left + 24, bottom - top + 24), (255, 255, 255, 0))
    ImageDraw.Draw(image).text((12 - left, 12 - top), name, font=font, fill=(20, 20, 20, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pyhanko_signer(certificate: x509.Certificate, key: PrivateKeyTypes, chain: list[x509.Certificate]) -> signers.SimpleSigner:
    """pyHanko's signer for a person's certificate and key, with the CA chain to embed."""
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())  # type: ignore[union-attr]
    return signers.SimpleSigner(
        signing_cert=next(iter(load_certs_from_pemder_data(certificate.public_bytes(pem)))),
        signing_key=load_private_key_from_pemder_data(key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(list(load_certs_from_pemder_data(b"".join(c.public_bytes(pem) for c in chain)))),
    )


def sign_field(pdf: bytes, signature: PartySignature, signer: signers.Signer, timestamper: TimeStamper,
               revocation: RevocationSource) -> bytes:
    """``pdf`` with the party's signature in its field, PAdES B-LTA. Raises TimestampUnavailable,
    RevocationUnavailable or SigningError."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    assert signer.signing_cert is not None
    context = revocation.context(signer.signing_cert, list(signer.cert_registry), timestamper)
    metadata = signers.PdfSignatureMetadata(
        field_name=signature.field,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=signature.name,
        reason=signature.reason,
        location=signature.location,
        embed_validation_info=True,
        use_pades_lta=True,
        validation_context=context,
    )
    style = seal_stamp_style(encode_image(signature.picture or name_picture(signature.name)))
    try:
        pdf_signer = signers.PdfSigner(metadata, signer=signer, timestamper=timestamper, stamp_style=style)
        out = run_sync(lambda: pdf_signer.async_sign_pdf(writer, existing_fields_only=True, bytes_reserved=BYTES_RESERVED))
    except (TimestampRequestError, OSError) as exc:
        raise TimestampUnavailable("时间戳服务不可用，未签署", "the timestamping service is unavailable; nothing was signed") from exc
    except (PyHankoSigningError, ValueError, KeyError) as exc:
        raise SigningError("签署失败", f"signing failed ({type(exc).__name__})") from exc
    return out.getvalue()
