"""python -m service seal …: agencies' electronic seals (GB/T 38540 ``SESeal``, ``gm/eseal.py``; docs/gm-seals.md).

    seal make AGENCY [--image PNG] [--valid-days N] [--out FILE.esl]
    seal verify FILE.esl

``make`` is the development seal maker (制章者) of the development PKI (``certs/seal-maker.sm2.pem``, made by init-pki)
signing the agency's seal: its picture (``--image``, else the agency's ``seal_image``, else the seal the service
draws from its name), its name, the agency's signing certificate, valid from now for N days (default 365); written
to ``certs/seals/<agency>.esl`` unless ``--out`` says otherwise. Exit 0 made, 2 an unknown agency or a bad picture,
1 another failure (no seal maker: run init-pki).

``verify`` checks a seal against the service's trust roots (CHENGNUO_TRUST_ROOTS, or the development roots) at the
current time and prints the report. Exit 0 valid, 1 invalid, 2 a file that is not a seal or cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from ..agencies import Agency, load_agencies
from ..config import load_settings
from ..errors import ConfigurationError, InvalidData, UnusableSeal
from .common import EXIT_FAILED, EXIT_INVALID, EXIT_OK, report_error


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def default_picture(agency: Agency) -> bytes:
    """The seal the service draws for ``agency`` today: its own ``seal_image``, or the red round seal of its name."""
    from ..signing.seal import seal_png

    return agency.seal_image.read_bytes() if agency.seal_image else seal_png(agency.name)


def cmd_make(args: argparse.Namespace) -> int:
    import service.gm  # noqa: F401 - the SM2 OIDs
    from devpki.sm2 import load_key, read_cert

    from ..gm.eseal import make_seal
    from ..signing.keys import KeyStore
    from ..signing.paths import PkiPaths, read_passphrase

    settings = load_settings()
    agency = load_agencies(settings.agencies_file).get(args.agency)
    if args.image:
        try:
            picture = Path(args.image).read_bytes()
        except OSError as exc:
            raise InvalidData({"--image": [f"无法读取图片文件 / cannot read the picture: {exc.strerror or exc}"]}) from None
    else:
        picture = default_picture(agency)
    paths = PkiPaths(settings.certs_dir)
    try:
        maker_key = load_key(paths.seal_maker_key, read_passphrase(paths.passphrase_file))
        maker_cert = read_cert(paths.seal_maker_cert)
    except (OSError, ValueError):
        raise ConfigurationError("开发用 PKI 中没有制章者密钥，请先运行 python -m service init-pki",
                                 "the development PKI has no seal maker; run python -m service init-pki first") from None
    signer_cert = KeyStore(settings.certs_dir).certificate(agency)
    now = dt.datetime.now(ZoneInfo(settings.timezone)).replace(microsecond=0)
    der = make_seal(agency, picture, now, now + dt.timedelta(days=args.valid_days), maker_key, maker_cert, signer_certs=[signer_cert])
    out = Path(args.out) if args.out else paths.seal(agency.id)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(der)
    print(f"已制作电子印章 / electronic seal made: {out}")
    print(f"  {agency.name} ({agency.id}), valid {now.isoformat(timespec='minutes')} – "
          f"{(now + dt.timedelta(days=args.valid_days)).isoformat(timespec='minutes')}, SHA-256 {hashlib.sha256(der).hexdigest()}")
    print(f'  配置 / configure: seal_file = "{out.resolve()}"  (agencies.toml, agency {agency.id})')
    return EXIT_OK


def _picture_size(data: bytes) -> str:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return f"{image.width}×{image.height} px"
    except Exception:  # noqa: BLE001 - the report names the picture's problem; this is only a size
        return "?"


def cmd_verify(args: argparse.Namespace) -> int:
    from ..gm.eseal import verify_seal
    from ..gm.seseal import SEAL_TYPES
    from ..verifying.trust_roots import load_trust_roots

    settings = load_settings()
    try:
        der = Path(args.file).read_bytes()
    except OSError as exc:
        report_error(UnusableSeal(f"无法读取文件 {args.file}", f"cannot read {args.file}: {exc.strerror or exc}"))
        return EXIT_INVALID
    zone = ZoneInfo(settings.timezone)
    try:
        report = verify_seal(der, load_trust_roots(settings.trust_root_files), at=dt.datetime.now(zone))
    except UnusableSeal as exc:
        report_error(exc)
        return EXIT_INVALID
    kind = SEAL_TYPES.get(report.seal_type, ("其他", "other"))
    print(f"电子印章 / electronic seal: {args.file}")
    print(f"  印章名称 / name:      {report.name} ({kind[0]} / {kind[1]}, type {report.seal_type})")
    print(f"  印章标识 / esID:      {report.es_id}")
    print(f"  有效期 / valid:       {report.valid_start.astimezone(zone).isoformat(timespec='minutes')} – "
          f"{report.valid_end.astimezone(zone).isoformat(timespec='minutes')}")
    if report.maker is not None:
        print(f"  制章者 / maker:       {report.maker.subject.human_friendly} (serial {report.maker.serial_number:X})")
    for cert in report.signer_certs:
        print(f"  签章者 / signer:      {cert.subject.human_friendly} (serial {cert.serial_number:X})")
    print(f"  图片 / picture:       {report.picture_type}, {_picture_size(report.picture)}, {report.width_mm}×{report.height_mm} mm")
    for problem in report.problems:
        print(f"  ✗ {problem.message}")
    print("结论 / verdict: " + ("有效 / valid" if report.bottom_line else "无效 / invalid"))
    return EXIT_OK if report.bottom_line else EXIT_FAILED


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds ``seal`` to the command line."""
    seal = sub.add_parser("seal", help="agencies' electronic seals (GB/T 38540 SESeal): make, verify").add_subparsers(
        dest="seal_command", required=True)
    make = seal.add_parser("make", help="make an agency's seal, signed by the development seal maker (development and tests only)")
    make.add_argument("agency")
    make.add_argument("--image", help="the seal's picture, PNG (default: the seal the service draws for the agency)")
    make.add_argument("--valid-days", type=_positive, default=365, help="valid from now for this many days (default 365)")
    make.add_argument("--out", help="where to write it (default: certs/seals/AGENCY.esl)")
    make.set_defaults(func=cmd_make)
    verify = seal.add_parser("verify", help="check a seal (exit 0 valid, 1 invalid, 2 not a seal)")
    verify.add_argument("file")
    verify.set_defaults(func=cmd_verify)

