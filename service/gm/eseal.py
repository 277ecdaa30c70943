"""An agency's electronic seal (电子印章, GB/T 38540 ``SESeal`` v4, ``seseal.py``): made and checked.

``make_seal`` is what a seal-making system (电子印章制作系统) does: the seal maker (制章者) signs the seal's information —
its image, its properties, the certificates of the agency that will seal with it, its validity window — with SM2
over SM3 and the pinned distinguishing ID (``sm2.py``). ``verify_seal`` checks it and says why not, in Chinese and
English: the header (``ES``, version 4), the algorithm, the maker's signature over the DER of ``eSealInfo`` as it
lies in the file, the maker's certificate chaining to a trust root at the given time (pyhanko-certvalidator, with the
SM2 signature validator), the validity window, the signers' certificate list, and the picture (a PNG that decodes).

A seal made here in software has no legal effect: docs/gm-seals.md.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import keys, x509
from PIL import Image, UnidentifiedImageError
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    NotYetValidError,
    PathBuildingError,
    PathError,
    ValidationError,
)
from tongsuopy.crypto import serialization
from tongsuopy.crypto.asymciphers import ec

from ..agencies import Agency
from ..errors import InvalidData, UnusableSeal
from ..signing.sync import run_sync
from . import oids, sm2
from .seseal import (
    CERT_LIST_CERTS,
    CERT_LIST_DIGESTS,
    HEADER_ID,
    VERSION,
    CertInfoList,
    SESeal,
    SesSealInfo,
)
from .validator import GM_VALIDATOR

VENDOR = "chengnuo"  # SES_Header.Vid: who made the seal's software
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_SIZE_MM = 42  # a round official seal (公章), as the service draws it (signing/spots.py SEAL_DIAMETER)
WINDOW_PROBLEMS = frozenset({"expired", "not_yet_valid"})


@dataclass(frozen=True)
class Problem:
    """One reason a seal is not valid. ``code``: header, algorithm, maker_certificate, signature, maker_untrusted,
    window, expired, not_yet_valid, cert_list, picture."""

    code: str
    zh: str
    en: str

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class SealReport:
    """What ``verify_seal`` found, at ``checked_at``. ``bottom_line``: no problem at all; ``sound``: the seal itself is
    good (signature, maker, picture…) and at most its validity window excludes ``checked_at``."""

    es_id: str
    name: str
    seal_type: int
    vid: str
    created: dt.datetime
    valid_start: dt.datetime
    valid_end: dt.datetime
    picture: bytes
    picture_type: str
    width_mm: int
    height_mm: int
    maker: x509.Certificate | None
    signer_certs: tuple[x509.Certificate, ...]
    checked_at: dt.datetime
    problems: tuple[Problem, ...]

    @property
    def bottom_line(self) -> bool:
        return not self.problems

    @property
    def sound(self) -> bool:
        return all(problem.code in WINDOW_PROBLEMS for problem in self.problems)

    def covers(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` lies in the seal's validity window."""
        return self.valid_start <= moment <= self.valid_end


def _utc(moment: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise InvalidData({what: ["时间须带时区 / a time with its zone is needed"]})
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _public_info(key: ec.EllipticCurvePrivateKey) -> keys.PublicKeyInfo:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return keys.PublicKeyInfo.load(der)


def _png_problem(data: bytes) -> str | None:
    """Why ``data`` is not a PNG that decodes, or None."""
    if not data.startswith(PNG_SIGNATURE):
        return "not a PNG"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.format != "PNG":
                return "not a PNG"
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return f"the PNG does not decode ({type(exc).__name__})"
    return None


def make_seal(agency: Agency, image_png: bytes, valid_from: dt.datetime, valid_to: dt.datetime,
              maker_key: ec.EllipticCurvePrivateKey, maker_cert: x509.Certificate, *,
              signer_certs: Sequence[x509.Certificate], created: dt.datetime | None = None, seal_type: int = 1,
              width_mm: int = DEFAULT_SIZE_MM, height_mm: int = DEFAULT_SIZE_MM, es_id: str | None = None) -> bytes:
    """The agency's seal as DER: ``image_png`` with the agency's name as the seal's name, valid from ``valid_from`` to
    ``valid_to``, its certList the agency's signing certificate(s) ``signer_certs`` (type 1, the certificates
    themselves), signed by the seal maker. Raises InvalidData for a picture that is not a PNG, an empty or reversed
    window, no signer certificate, or a maker key that is not the maker certificate's SM2 key."""
    start, end = _utc(valid_from, "valid_from"), _utc(valid_to, "valid_to")
    made = _utc(created or dt.datetime.now(dt.UTC), "created")
    if end <= start:
        raise InvalidData({"valid_to": ["有效期终止时间须晚于起始时间 / the seal must end after it starts"]})
    problem = _png_problem(image_png)
    if problem:
        raise InvalidData({"image": [f"印章图片须为 PNG 格式 / the seal's picture must be a PNG: {problem}"]})
    if not signer_certs:
        raise InvalidData({"signer_certs": ["须列出机关的签名证书 / the agency's signing certificate must be listed"]})
    if not sm2.is_sm2_key(maker_cert.public_key) or _public_info(maker_key).dump() != maker_cert.public_key.dump():
        raise InvalidData({"maker_key": ["制章者密钥与其 SM2 证书不匹配 / the maker's key is not the SM2 key of its certificate"]})
    info = SesSealInfo({
        "header": {"id": HEADER_ID, "version": VERSION, "vid": VENDOR},
        "es_id": es_id or f"{agency.id}-{made:%Y%m%d%H%M%S}-{secrets.token_hex(4)}",
        "property": {
            "type": seal_type,
            "name": agency.name,
            "cert_list_type": CERT_LIST_CERTS,
            "cert_list": CertInfoList([cert.dump() for cert in signer_certs]),
            "create_date": made,
            "valid_start": start,
            "valid_end": end,
        },
        "picture": {"type": "png", "data": image_png, "width": width_mm, "height": height_mm},
    })
    signed = info.dump()
    return SESeal({
        "e_seal_info": info,
        "cert": maker_cert.dump(),
        "sign_alg_id": oids.SM2_SM3,
        "signed_value": sm2.sign(maker_key, signed),
    }).dump()


def _load(der: bytes) -> SESeal:
    """Raises UnusableSeal."""
    try:
        seal = SESeal.load(der, strict=True)
        seal.native  # noqa: B018 - decodes every field now, so that a bad one fails here and not later
        return seal
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise UnusableSeal("文件不是 GB/T 38540 电子印章（SESeal）", f"not a GB/T 38540 electronic seal (SESeal): {type(exc).__name__}") from None


def _maker_problems(maker: x509.Certificate, trust_roots: Sequence[x509.Certificate], at: dt.datetime) -> list[Problem]:
    context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False, moment=at, revocation_mode="soft-fail",
                                signature_validator=GM_VALIDATOR)
    validator = CertificateValidator(maker, validation_context=context)
    try:
        run_sync(lambda: validator.async_validate_usage({"digital_signature"}))
    except (ExpiredError, NotYetValidError):
        return [Problem("maker_untrusted", f"制章者证书在 {at:%Y-%m-%d %H:%M} 不在有效期内",
                        f"the seal maker's certificate is not valid at {at.isoformat(timespec='minutes')}")]
    except (PathBuildingError, PathError):
        return [Problem("maker_untrusted", "制章者证书不是由受信任的根证书签发的", "the seal maker's certificate does not chain to a trust root")]
    except ValidationError as exc:
        return [Problem("maker_untrusted", "制章者证书未通过验证", f"the seal maker's certificate fails validation ({type(exc).__name__})")]
    return []


def verify_seal(der: bytes, trust_roots: Sequence[x509.Certificate], at: dt.datetime | None = None) -> SealReport:
    """The seal ``der`` checked at ``at`` (default: now) against ``trust_roots`` (the maker's CA). Raises UnusableSeal
    for bytes that are not an SESeal at all; every other fault is a problem of the report."""
    oids.register()
    at = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    seal = _load(der)
    info = seal["e_seal_info"]
    header, prop, picture = info["header"].native, info["property"], info["picture"].native
    problems: list[Problem] = []
    if header["id"] != HEADER_ID or header["version"] != VERSION:
        problems.append(Problem("header", f"印章头应为 ES 第 4 版，实为 {header['id']!r} 第 {header['version']} 版",
                                f"the header must be ES version 4, not {header['id']!r} version {header['version']}"))

    maker: x509.Certificate | None = None
    try:
        maker = x509.Certificate.load(seal["cert"].native, strict=True)
        maker.public_key.native  # noqa: B018 - decodes the key now
    except (ValueError, TypeError, KeyError):
        maker = None
        problems.append(Problem("maker_certificate", "制章者证书无法解析", "the seal maker's certificate cannot be read"))
    algorithm = seal["sign_alg_id"].dotted
    if algorithm != oids.SM2_SM3:
        problems.append(Problem("algorithm", f"签名算法 {algorithm} 不是 SM2/SM3（{oids.SM2_SM3}）",
                                f"the signature algorithm {algorithm} is not SM2 with SM3 ({oids.SM2_SM3})"))
    elif maker is not None:
        signature = seal["signed_value"].native
        if not (sm2.is_sm2_key(maker.public_key) and sm2.is_der_signature(signature) and sm2.verify(maker.public_key, signature, info.dump())):
            problems.append(Problem("signature", "制章者对印章信息的签名无效（印章内容被改动，或非该制章者所签）",
                                    "the seal maker's signature over the seal's information is invalid (altered, or not signed by this maker)"))
    if maker is not None:
        problems += _maker_problems(maker, trust_roots, at)

    start, end = prop["valid_start"].native, prop["valid_end"].native
    if end <= start:
        problems.append(Problem("window", "印章有效期终止时间早于起始时间", "the seal's validity ends before it starts"))
    elif at > end:
        problems.append(Problem("expired", f"印章已于 {end:%Y-%m-%d %H:%M} UTC 过期", f"the seal expired on {end.isoformat(timespec='minutes')}"))
    elif at < start:
        problems.append(Problem("not_yet_valid", f"印章自 {start:%Y-%m-%d %H:%M} UTC 起才有效",
                                f"the seal is valid from {start.isoformat(timespec='minutes')} only"))

    signer_certs: list[x509.Certificate] = []
    kind, listed = prop["cert_list_type"].native, prop["cert_list"].native
    if kind == CERT_LIST_CERTS:
        try:
            signer_certs = [x509.Certificate.load(item, strict=True) for item in listed]
            for cert in signer_certs:
                cert.subject.native  # noqa: B018
        except (ValueError, TypeError, KeyError):
            signer_certs = []
            problems.append(Problem("cert_list", "签章者证书列表中有无法解析的证书", "a certificate of the signers' list cannot be read"))
    elif kind != CERT_LIST_DIGESTS:
        problems.append(Problem("cert_list", f"签章者证书信息类型 {kind} 未知（应为 1 或 2）", f"unknown certListType {kind} (1 or 2)"))
    if not listed:
        problems.append(Problem("cert_list", "印章未列出签章者证书", "the seal lists no signer certificate"))

    png_problem = _png_problem(picture["data"]) if str(picture["type"]).lower() == "png" else f"type {picture['type']!r}"
    if png_problem:
        problems.append(Problem("picture", f"印章图片不是可解码的 PNG（{png_problem}）", f"the seal's picture is not a PNG that decodes ({png_problem})"))

    return SealReport(
        es_id=info["es_id"].native, name=prop["name"].native, seal_type=prop["type"].native, vid=header["vid"],
        created=prop["create_date"].native, valid_start=start, valid_end=end,
        picture=picture["data"], picture_type=picture["type"], width_mm=picture["width"], height_mm=picture["height"],
        maker=maker, signer_certs=tuple(signer_certs), checked_at=at, problems=tuple(problems),
    )
