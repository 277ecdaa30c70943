"""Where the files of the development PKI lie under ``certs/`` (``devpki`` writes them; the service reads
the agencies' PKCS#12 files, the passphrase and the development TSA's certificate).

    certs/root-ca.pem              trust anchor (give it to validators: pdfsig, pyHanko, Adobe)
    certs/intermediate-ca.pem      embedded in every signature with the signer's certificate
    certs/tsa.pem                  the development TSA's certificate: timestamps it signed say so
    certs/dev-pki.json             where the development PKI's services answer on loopback
    certs/agencies/<id>.p12        each agency's signing key and certificate chain
    certs/private/                 the declaration's keys and the passphrase (mode 0700; never in git, logs or responses)

A deployment points the service at its own PKCS#12 files and trust roots instead (``agencies.toml``
``pkcs12``/``passphrase_file``, ``CHENGNUO_TRUST_ROOTS``, ``CHENGNUO_TSA_URL``).
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..config import PROJECT_ROOT
from ..errors import ConfigurationError


def development_pki() -> ModuleType:
    """The ``devpki`` package of the source checkout, wherever the command runs from (it is not installed with
    the service). Raises ConfigurationError when there is none: a deployment brings its own keys and TSA."""
    try:
        return importlib.import_module("devpki")
    except ImportError:
        if (PROJECT_ROOT / "devpki" / "__init__.py").is_file() and str(PROJECT_ROOT) not in sys.path:
            sys.path.append(str(PROJECT_ROOT))
            return importlib.import_module("devpki")
        raise ConfigurationError("开发用 PKI（devpki）只在源码目录中提供；生产环境请配置自己的密钥和时间戳服务（CHENGNUO_TSA_URL）",
                                 "the development PKI (devpki) comes with the source checkout only; a deployment configures "
                                 "its own keys and TSA (CHENGNUO_TSA_URL)") from None


@dataclass(frozen=True)
class PkiPaths:
    root: Path

    @property
    def root_cert(self) -> Path:
        return self.root / "root-ca.pem"

    @property
    def intermediate_cert(self) -> Path:
        return self.root / "intermediate-ca.pem"

    @property
    def tsa_cert(self) -> Path:
        return self.root / "tsa.pem"

    @property
    def services_file(self) -> Path:
        return self.root / "dev-pki.json"

    @property
    def private(self) -> Path:
        return self.root / "private"

    @property
    def keys(self) -> Path:
        return self.private / "keys"

    @property
    def passphrase_file(self) -> Path:
        return self.private / "passphrase"

    def agency(self, agency_id: str) -> Path:
        return self.root / "agencies" / f"{agency_id}.p12"


def read_passphrase(path: Path) -> bytes:
    """Raises OSError."""
    return path.read_bytes().strip()
