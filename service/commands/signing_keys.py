"""python -m service key …, for agencies' signing keys (the rest of ``key`` is calling systems' API keys):

    key rotate AGENCY                                    a new key and certificate (development PKI); the old one stays valid
    key compromise AGENCY --since TIME [--note TEXT]     the current key reported compromised since TIME
    key compromises                                      every recorded compromise

TIME is ISO 8601 (``2026-11-29T09:30``, ``2026-11-29T01:30:00Z``, ``2026-11-29``); without a zone it is the service's
(CHENGNUO_TIMEZONE). Exit 0 done, 2 a bad or future TIME, an unknown agency, or ``rotate`` of an agency with its own
key; 1 any other failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
from zoneinfo import ZoneInfo

from ..auth.principal import OPERATOR
from ..config import load_settings
from ..errors import InvalidData, InvalidRequest
from .common import EXIT_INVALID, EXIT_OK, operator_services, report_error

_RUNNING = ("正在运行的服务无需重启即可使用新密钥：密钥库在文件变化时重新加载，开发用 PKI 服务在 dev-pki.json 变化时重新加载 / "
            "a running service needs no restart: its key store loads the new PKCS#12 file, and its development PKI server "
            "the changed dev-pki.json, on their next use")


def parse_time(text: str, zone: str) -> dt.datetime:
    """An ISO 8601 time; without a zone, in ``zone``. Raises InvalidData naming ``--since``."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        message = (f"不是 ISO 8601 时间，例如 2026-11-29T09:30 或 2026-11-29T01:30:00Z：{text!r} / "
                   f"not an ISO 8601 time such as 2026-11-29T09:30 or 2026-11-29T01:30:00Z: {text!r}")
        raise InvalidData({"--since": [message]}) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))


def _local(moment: dt.datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def cmd_compromise(args: argparse.Namespace) -> int:
    from ..key_compromise import report_compromise

    zone = load_settings().timezone
    since = parse_time(args.since, zone)  # before anything is built: a bad TIME costs nothing
    with operator_services() as services:
        report = report_compromise(services, args.agency, since, OPERATOR.actor, args.note or "")
        agency = services.agencies.get(args.agency)
    compromise = report.compromise
    print(f"已记录密钥泄露 / key compromise recorded: {agency.name} ({agency.id}), certificate serial {compromise.cert_serial}, "
          f"since {_local(compromise.since, zone)}")
    print("  此后签署的文书核验为无效，此前的仍有效；本服务不再用该证书签署 / documents signed at or after that time verify as invalid, "
          "earlier ones stay valid; the service signs nothing more with this certificate")
    if report.rotation is not None:
        rotation = report.rotation
        print(f"开发用 PKI：证书 {rotation.old_label} 已吊销（keyCompromise，自 {_local(rotation.revoked_since or compromise.since, zone)} 起），"
              f"已换用新密钥和证书 {rotation.new_label} / development PKI: certificate {rotation.old_label} revoked (keyCompromise, "
              f"since {_local(rotation.revoked_since or compromise.since, zone)}); the agency now signs with a new key and "
              f"certificate {rotation.new_label} (serial {rotation.new_cert.serial_number:X})")
        print(_RUNNING)
    if report.ca_request is not None:
        request = report.ca_request
        print("该机关使用自有密钥：请向签发其证书的 CA 申请吊销该证书 / this agency signs with its own key: ask the CA that issued "
              "its certificate to revoke it:")
        print(f"  签发者 / issuer:               {request.issuer}")
        print(f"  序列号 / serial number:        {request.serial_hex} (hex), {request.serial_decimal} (decimal)")
        print(f"  证书主体 / subject:            {request.subject}")
        print(f"  吊销原因 / reason:             {request.reason}")
        print(f"  失效日期 / invalidity date:    {request.invalidity_date.astimezone(dt.UTC).isoformat(timespec='seconds')} "
              f"({_local(request.invalidity_date, zone)})")
        print("然后在 agencies.toml 中为该机关配置新的密钥（pkcs12 或 PKCS#11 令牌），并重启服务（agencies.toml 只在启动时读取）；"
              "在此之前，该机关的签发请求均返回 503 / then configure the agency's new key (pkcs12, or a PKCS#11 token) in "
              "agencies.toml and restart the service, which reads agencies.toml at start only; until then every document of "
              "this agency is refused with 503 signing_key_compromised")
    return EXIT_OK


def cmd_rotate(args: argparse.Namespace) -> int:
    from ..key_compromise import rotate_key

    with operator_services() as services:
        try:
            rotation = rotate_key(services, args.agency, OPERATOR.actor)
        except InvalidRequest as exc:
            report_error(exc)
            return EXIT_INVALID
    print(f"已为 {args.agency} 换用新密钥和证书 / {args.agency} now signs with a new key and certificate: {rotation.new_label} "
          f"(serial {rotation.new_cert.serial_number:X}); {rotation.old_label} (serial {rotation.old_cert.serial_number:X}) "
          "stays valid, so the documents it signed still verify")
    print(_RUNNING)
    return EXIT_OK


def cmd_compromises(_args: argparse.Namespace) -> int:
    zone = load_settings().timezone
    with operator_services() as services:
        recorded = services.compromises.all()
    for item in recorded:
        print(f"{item.agency:20} serial {item.cert_serial:18} since {_local(item.since, zone)}  recorded {_local(item.recorded_at, zone)} "
              f"by {item.recorded_by}  {item.note}".rstrip())
    if not recorded:
        print("没有记录的密钥泄露 / no key compromise recorded")
    return EXIT_OK


def register(key: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Adds the signing-key commands to the ``key`` group."""
    rotate = key.add_parser("rotate", help="a new signing key and certificate for an agency of the development PKI (the old one stays valid)")
    rotate.add_argument("agency")
    rotate.set_defaults(func=cmd_rotate)
    compromise = key.add_parser("compromise", help="record that an agency's signing key was compromised since TIME (audited): revoked and "
                                                   "replaced in the development PKI, or what to ask the CA")
    compromise.add_argument("agency")
    compromise.add_argument("--since", required=True, metavar="TIME",
                            help="ISO 8601; without a zone, the service's (CHENGNUO_TIMEZONE, default Asia/Shanghai)")
    compromise.add_argument("--note", help="what happened, for the record")
    compromise.set_defaults(func=cmd_compromise)
    key.add_parser("compromises", help="list the recorded key compromises").set_defaults(func=cmd_compromises)
