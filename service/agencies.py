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
class Agency:
    id: str
    name: str
    numbers: Mapping[str, str] = field(default_factory=dict)  # kind → format with {year} and {seq}
    pkcs12: Path | None = None  # own signing key; default: the development PKI's certs/agencies/<id>.p12
    passphrase_file: Path | None = None
    passphrase_env: str | None = None  # name of the environment variable holding the passphrase
    seal_image: Path | None = None  # own seal (PNG, transparent background); default: drawn from the name
    token: TokenKey | None = None  # own key on a PKCS#11 token instead of a PKCS#12 file

    @property
    def own_key(self) -> bool:
        """Whether the agency signs with a key of its own rather than the development PKI's."""
        return self.pkcs12 is not None or self.token is not None

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
        for key in ("pkcs12", "passphrase_file", "seal_image"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise _bad(path, f"机关 {agency_id} 的 {key} 应为文件路径", f"agency {agency_id}: {key} must be a file path")
            paths[key] = (path.parent / value).resolve() if value else None
        if paths["seal_image"] is not None and not paths["seal_image"].is_file():
            raise _bad(path, f"机关 {agency_id} 的印章图片不存在", f"agency {agency_id}: seal image {paths['seal_image']} does not exist")
        passphrase_env = entry.get("passphrase_env")
        agencies[agency_id] = Agency(
            agency_id,
            name.strip(),
            MappingProxyType(numbers),
            pkcs12=paths["pkcs12"],
            passphrase_file=paths["passphrase_file"],
            passphrase_env=passphrase_env if isinstance(passphrase_env, str) and passphrase_env else None,
            seal_image=paths["seal_image"],
            token=_token_key(path, agency_id, entry),
        )
    if not agencies:
        raise _bad(path, "未配置任何机关", "no agency is configured")
    default_id = raw.get("default", next(iter(agencies)))
    if default_id not in agencies:
        raise _bad(path, f"默认机关 {default_id!r} 未配置", f"the default agency {default_id!r} is not configured")
    return Agencies(default=agencies[default_id], by_id=MappingProxyType(agencies))
