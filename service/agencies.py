"""The configured issuing agencies and their official-number formats (``config/agencies.toml``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .errors import ConfigurationError, NotFound

NUMBER_KINDS = ("commitment", "letter")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Agency:
    id: str
    name: str
    numbers: Mapping[str, str] = field(default_factory=dict)  # kind → format with {year} and {seq}
    pkcs12: Path | None = None  # own signing key; default: the development PKI's certs/agencies/<id>.p12
    passphrase_file: Path | None = None
    passphrase_env: str | None = None  # name of the environment variable holding the passphrase
    seal_image: Path | None = None  # own seal (PNG, transparent background); default: drawn from the name

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
        )
    if not agencies:
        raise _bad(path, "未配置任何机关", "no agency is configured")
    default_id = raw.get("default", next(iter(agencies)))
    if default_id not in agencies:
        raise _bad(path, f"默认机关 {default_id!r} 未配置", f"the default agency {default_id!r} is not configured")
    return Agencies(default=agencies[default_id], by_id=MappingProxyType(agencies))
