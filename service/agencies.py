"""The configured issuing agencies, their official-number formats and their signing keys (``config/agencies.toml``)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from .errors import ConfigurationError, NotFound

NUMBER_KINDS = ("commitment", "letter")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class TokenKey:
    """Where an agency's key lives on a PKCS#11 token (an HSM, a USB key; SoftHSM2 in tests).

    The signing certificate is read from the token (``cert_label``, default ``key_label``); its CA chain, embedded in
    every signature so that validators can build the path, comes from ``chain_file``. The PIN is read when a session
    is opened, from ``pin_env`` (an environment variable's name) or ``pin_file``, and never kept in this object.
    """

    module: Path  # the PKCS#11 module (.so)
    token_label: str
    key_label: str
    chain_file: Path  # PEM or DER: the CA certificates (intermediates and root) to embed
    cert_label: str | None = None
    pin_env: str | None = None
    pin_file: Path | None = None


@dataclass(frozen=True)
class SigningServer:
    """An HTTP signing server that holds an agency's SM2 key (docs/sm2-signing-server.md): it is sent e = SM3(Z_A ‖ M)
    and answers the signature. The secret (a bearer token or an HMAC key) is read from ``secret_env`` or
    ``secret_file`` when a request is made, and never kept in this object."""

    url: str
    certificate: Path  # PEM: the agency's certificate first, then its CA chain
    auth: str = "bearer"  # bearer | hmac
    secret_env: str | None = None
    secret_file: Path | None = None
    key_id: str | None = None  # the key's name on the server, if it holds several
    timeout: float = 10.0  # seconds to connect, and again to answer


ALGORITHMS = ("rsa", "sm2")  # rsa: RSA or ECDSA, as the key is; sm2: SM2 with SM3 (国密)
SIGNING_SERVER_AUTH = ("bearer", "hmac")


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    numbers: Mapping[str, str] = field(default_factory=dict)  # kind → format with {year} and {seq}
    pkcs12: Path | None = None  # own signing key; default: the development PKI's certs/agencies/<id>.p12
    passphrase_file: Path | None = None
    passphrase_env: str | None = None  # name of the environment variable holding the passphrase
    seal_image: Path | None = None  # own seal (PNG, transparent background); default: drawn from the name
    seal_file: Path | None = None  # own electronic seal (GB/T 38540 SESeal, .esl): its picture is the seal drawn
    token: TokenKey | None = None  # own key on a PKCS#11 token instead of a PKCS#12 file
    algorithm: str = "rsa"  # rsa | sm2 (ALGORITHMS)
    gm_oids: bool = False  # SM2 only: GM/T 0010 content types and signature algorithm in the CMS container
    signing_server: SigningServer | None = None  # SM2 only: the key on an HTTP signing server
    pkcs11_mechanism: int | None = None  # SM2 on a token: the vendor's mechanism (CKM_SM2 is not in PKCS#11 itself)
    pkcs11_input: str = "message"  # SM2 on a token: message (the token computes SM3 with Z_A) | digest (it signs e)
    # staff members whose own signing key and certificate live on a PKCS#11 token: username → where
    staff_tokens: Mapping[str, TokenKey] = field(default_factory=dict)

    @property
    def own_key(self) -> bool:
        """Whether the agency signs with a key of its own rather than the development PKI's."""
        return self.pkcs12 is not None or self.token is not None or self.signing_server is not None

    @property
    def sm2(self) -> bool:
        return self.algorithm == "sm2"

    def format_number(self, kind: str, year: int, seq: int) -> str:
        return self.numbers[kind].format(year=year, seq=seq)

    @property
    def case_prefix(self) -> str:
        """The start of the agency's case numbers (``JCSFJ-2026-000042``)."""
        return self.id.replace("-", "").upper()[:20]

    def public(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Agencies:
    default: Agency
    by_id: Mapping[str, Agency]

    def get(self, agency_id: str | None) -> Agency:
        """The named agency, or the default one when ``agency_id`` is None; raises NotFound."""
        if agency_id is None:
            return self.default
        try:
            return self.by_id[agency_id]
        except (KeyError, TypeError):
            raise NotFound(
                f"没有编号为 {agency_id!r} 的行政机关", f"there is no agency {agency_id!r}", code="unknown_agency"
            ) from None


def _bad(path: Path, zh: str, en: str) -> ConfigurationError:
    return ConfigurationError(f"机关配置文件 {path} 有误：{zh}", f"agency file {path}: {en}")


_TOKEN_TEXT = ("token_label", "key_label", "cert_label", "pin_env")
_TOKEN_PATHS = ("pkcs11_module", "chain_file", "pin_file")


def _token_key(path: Path, agency_id: str, entry: Mapping[str, object]) -> TokenKey | None:
    """The agency's PKCS#11 key, if it names one; raises ConfigurationError. The module and the token are not looked
    for here: a token may be plugged in after the start, and /healthz names an agency whose token is missing."""
    given = [key for key in _TOKEN_TEXT + _TOKEN_PATHS if key in entry]
    if not given:
        return None
    values: dict[str, str] = {}
    for key in given:
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            raise _bad(path, f"机关 {agency_id} 的 {key} 应为非空字符串", f"agency {agency_id}: {key} must be a non-empty string")
        values[key] = value.strip()
    missing = [key for key in ("pkcs11_module", "token_label", "key_label", "chain_file") if key not in values]
    if missing:
        raise _bad(path, f"机关 {agency_id} 的 PKCS#11 配置缺少 {'、'.join(missing)}", f"agency {agency_id}: PKCS#11 key without {', '.join(missing)}")
    if ("pin_env" in values) == ("pin_file" in values):
        raise _bad(path, f"机关 {agency_id} 的 PIN 须由 pin_env 或 pin_file 之一给出", f"agency {agency_id}: give the PIN by exactly one of pin_env and pin_file")
    clashing = [key for key in ("pkcs12", "passphrase_file", "passphrase_env") if key in entry]
    if clashing:
        raise _bad(path, f"机关 {agency_id} 不能同时配置 PKCS#11 令牌和 {'、'.join(clashing)}",
                   f"agency {agency_id}: a PKCS#11 key excludes {', '.join(clashing)}")
    return TokenKey(
        module=(path.parent / values["pkcs11_module"]).resolve(),
        token_label=values["token_label"],
        key_label=values["key_label"],
        chain_file=(path.parent / values["chain_file"]).resolve(),
        cert_label=values.get("cert_label"),
        pin_env=values.get("pin_env"),
        pin_file=(path.parent / values["pin_file"]).resolve() if "pin_file" in values else None,
    )


def _staff_tokens(path: Path, agency_id: str, entry: Mapping[str, object]) -> Mapping[str, TokenKey]:
    """``[[agencies.staff_tokens]]``: a staff member (``username``) whose own key and certificate are on a token, with the
    same keys as an agency's (``pkcs11_module``, ``token_label``, ``key_label``, ``chain_file``, ``pin_env`` or
    ``pin_file``). Raises ConfigurationError."""
    raw = entry.get("staff_tokens", [])
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise _bad(path, f"机关 {agency_id} 的 staff_tokens 应为表的数组（[[agencies.staff_tokens]]）",
                   f"agency {agency_id}: staff_tokens must be an array of tables ([[agencies.staff_tokens]])")
    found: dict[str, TokenKey] = {}
    for item in raw:
        username = item.get("username")
        if not isinstance(username, str) or not username.strip():
            raise _bad(path, f"机关 {agency_id} 的 staff_tokens 每项须有 username", f"agency {agency_id}: each staff_tokens entry needs a username")
        if username in found:
            raise _bad(path, f"机关 {agency_id} 的 staff_tokens 中 {username} 重复", f"agency {agency_id}: staff_tokens names {username} twice")
        token = _token_key(path, f"{agency_id}（{username}）", {k: v for k, v in item.items() if k != "username"})
        if token is None:
            raise _bad(path, f"机关 {agency_id} 的 staff_tokens 中 {username} 缺少 PKCS#11 配置",
                       f"agency {agency_id}: staff_tokens entry {username} names no PKCS#11 key")
        found[username.strip()] = token
    return MappingProxyType(found)


def _signing_server(path: Path, agency_id: str, entry: Mapping[str, object]) -> SigningServer | None:
    raw = entry.get("signing_server")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _bad(path, f"机关 {agency_id} 的 signing_server 应为表", f"agency {agency_id}: signing_server must be a table")
    unknown = sorted(set(raw) - {"url", "certificate", "auth", "secret_env", "secret_file", "key_id", "timeout"})
    if unknown:
        raise _bad(path, f"机关 {agency_id} 的 signing_server 含未知项 {'、'.join(unknown)}",
                   f"agency {agency_id}: signing_server has unknown keys {', '.join(unknown)}")
    for key in ("url", "certificate"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _bad(path, f"机关 {agency_id} 的 signing_server 缺少 {key}", f"agency {agency_id}: signing_server needs {key}")
    url = raw["url"].strip()
    if not url.startswith(("https://", "http://")):
        raise _bad(path, f"机关 {agency_id} 的签名服务器地址应以 https:// 开头", f"agency {agency_id}: signing_server url must be http(s)")
    auth = raw.get("auth", "bearer")
    if auth not in SIGNING_SERVER_AUTH:
        raise _bad(path, f"机关 {agency_id} 的 signing_server.auth 应为 bearer 或 hmac", f"agency {agency_id}: signing_server auth must be bearer or hmac")
    if ("secret_env" in raw) == ("secret_file" in raw):
        raise _bad(path, f"机关 {agency_id} 的签名服务器密钥须由 secret_env 或 secret_file 之一给出",
                   f"agency {agency_id}: give the signing server's secret by exactly one of secret_env and secret_file")
    timeout = raw.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise _bad(path, f"机关 {agency_id} 的 signing_server.timeout 应为 0–120 秒", f"agency {agency_id}: signing_server timeout must be 0-120 seconds")
    return SigningServer(
        url=url,
        certificate=(path.parent / raw["certificate"]).resolve(),
        auth=auth,
        secret_env=str(raw["secret_env"]) if "secret_env" in raw else None,
        secret_file=(path.parent / str(raw["secret_file"])).resolve() if "secret_file" in raw else None,
        key_id=str(raw["key_id"]) if raw.get("key_id") else None,
        timeout=float(timeout),
    )


def _sm2_settings(path: Path, agency_id: str, entry: Mapping[str, object]) -> dict[str, object]:
    """The signing algorithm and what goes with SM2; raises ConfigurationError."""
    algorithm = entry.get("algorithm", "rsa")
    if algorithm not in ALGORITHMS:
        raise _bad(path, f"机关 {agency_id} 的 algorithm 应为 rsa 或 sm2", f"agency {agency_id}: algorithm must be rsa or sm2")
    server = _signing_server(path, agency_id, entry)
    gm_oids = entry.get("gm_oids", False)
    mechanism = entry.get("pkcs11_mechanism")
    pkcs11_input = entry.get("pkcs11_input", "message")
    if algorithm != "sm2":
        given = [k for k in ("signing_server", "gm_oids", "pkcs11_mechanism", "pkcs11_input") if k in entry]
        if given:
            raise _bad(path, f"机关 {agency_id} 的 {'、'.join(given)} 仅用于 SM2（algorithm = \"sm2\"）",
                       f"agency {agency_id}: {', '.join(given)} apply to SM2 agencies only (algorithm = \"sm2\")")
        return {}
    if not isinstance(gm_oids, bool):
        raise _bad(path, f"机关 {agency_id} 的 gm_oids 应为 true 或 false", f"agency {agency_id}: gm_oids must be true or false")
    if "pkcs12" in entry or "passphrase_file" in entry or "passphrase_env" in entry:
        raise _bad(path, f"机关 {agency_id} 使用 SM2：PKCS#12 文件不适用", f"agency {agency_id}: an SM2 agency has no PKCS#12 file")
    on_token = "pkcs11_module" in entry
    if server is not None and on_token:
        raise _bad(path, f"机关 {agency_id} 不能同时配置签名服务器和 PKCS#11 令牌", f"agency {agency_id}: a signing server excludes a PKCS#11 token")
    if on_token:
        if isinstance(mechanism, str):
            try:
                mechanism = int(mechanism, 0)
            except ValueError:
                mechanism = None
        if not isinstance(mechanism, int) or isinstance(mechanism, bool) or mechanism < 0:
            raise _bad(path, f"机关 {agency_id} 的 SM2 令牌须配置 pkcs11_mechanism（厂商机制编号）",
                       f"agency {agency_id}: an SM2 key on a token needs pkcs11_mechanism (the vendor's mechanism number)")
        if pkcs11_input not in ("message", "digest"):
            raise _bad(path, f"机关 {agency_id} 的 pkcs11_input 应为 message 或 digest", f"agency {agency_id}: pkcs11_input must be message or digest")
    elif "pkcs11_mechanism" in entry or "pkcs11_input" in entry:
        raise _bad(path, f"机关 {agency_id} 的 pkcs11_mechanism 需要 PKCS#11 令牌", f"agency {agency_id}: pkcs11_mechanism needs a PKCS#11 token")
    return {"algorithm": "sm2", "gm_oids": gm_oids, "signing_server": server,
            "pkcs11_mechanism": mechanism if on_token else None, "pkcs11_input": pkcs11_input}


def load_agencies(path: Path) -> Agencies:
    """Reads and checks the agency file; raises ConfigurationError naming what is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(path, "文件不存在", "the file does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _bad(path, f"格式错误（{exc}）", f"not valid TOML ({exc})") from None
    agencies: dict[str, Agency] = {}
    for entry in raw.get("agencies", []):
        agency_id, name = entry.get("id"), entry.get("name")
        if not isinstance(agency_id, str) or not _ID.match(agency_id):
            raise _bad(path, f"机关编号 {agency_id!r} 无效", f"agency id {agency_id!r} is invalid (a-z, 0-9, -)")
        if not isinstance(name, str) or not name.strip():
            raise _bad(path, f"机关 {agency_id} 缺少名称", f"agency {agency_id} has no name")
        if agency_id in agencies:
            raise _bad(path, f"机关编号 {agency_id} 重复", f"agency id {agency_id} appears twice")
        numbers = dict(entry.get("numbers", {}))
        for kind in NUMBER_KINDS:
            template = numbers.get(kind)
            if not isinstance(template, str) or "{seq" not in template:
                raise _bad(path, f"机关 {agency_id} 缺少 {kind} 文号格式（须含 {{seq}}）", f"agency {agency_id} needs a {kind} number format containing {{seq}}")
            try:
                template.format(year=2021, seq=5)
            except (KeyError, IndexError, ValueError) as exc:
                raise _bad(path, f"机关 {agency_id} 的 {kind} 文号格式无效", f"agency {agency_id}: bad {kind} number format ({exc})") from None
        paths: dict[str, Path | None] = {}
        for key in ("pkcs12", "passphrase_file", "seal_image", "seal_file"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise _bad(path, f"机关 {agency_id} 的 {key} 应为文件路径", f"agency {agency_id}: {key} must be a file path")
            paths[key] = (path.parent / value).resolve() if value else None
        if paths["seal_image"] is not None and not paths["seal_image"].is_file():
            raise _bad(path, f"机关 {agency_id} 的印章图片不存在", f"agency {agency_id}: seal image {paths['seal_image']} does not exist")
        if paths["seal_file"] is not None and paths["seal_image"] is not None:
            raise _bad(path, f"机关 {agency_id} 不能同时配置 seal_image 和 seal_file（电子印章自带印章图片）",
                       f"agency {agency_id}: seal_image and seal_file exclude each other (the electronic seal carries its picture)")
        passphrase_env = entry.get("passphrase_env")
        agencies[agency_id] = Agency(
            agency_id,
            name.strip(),
            MappingProxyType(numbers),
            pkcs12=paths["pkcs12"],
            passphrase_file=paths["passphrase_file"],
            passphrase_env=passphrase_env if isinstance(passphrase_env, str) and passphrase_env else None,
            seal_image=paths["seal_image"],
            seal_file=paths["seal_file"],
            token=_token_key(path, agency_id, entry),
            staff_tokens=_staff_tokens(path, agency_id, entry),
            **_sm2_settings(path, agency_id, entry),  # type: ignore[arg-type]
        )
    if not agencies:
        raise _bad(path, "未配置任何机关", "no agency is configured")
    default_id = raw.get("default", next(iter(agencies)))
    if default_id not in agencies:
        raise _bad(path, f"默认机关 {default_id!r} 未配置", f"the default agency {default_id!r} is not configured")
    return Agencies(default=agencies[default_id], by_id=MappingProxyType(agencies))
