"""The trust anchors a deployment configures (``CHENGNUO_TRUST_ROOTS``: files, PEM or DER, one or several
certificates each), checked when the service starts rather than at the first verification.

Only roots are configured. The intermediates a chain needs come from the document: its signatures'
certificates and its document security store. A verification never fetches one from the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder_data

from ..errors import ConfigurationError


def _read(path: Path) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"受信任的根证书文件 {path} 无法读取（CHENGNUO_TRUST_ROOTS）",
                                 f"the trust root file {path} cannot be read (CHENGNUO_TRUST_ROOTS): {exc.strerror}") from exc
    try:
        found = list(load_certs_from_pemder_data(data))
        not_ca = [c.subject.human_friendly for c in found if not c.ca]
    except (ValueError, TypeError, KeyError):
        found, not_ca = [], []
    if not found:
        raise ConfigurationError(f"受信任的根证书文件 {path} 中没有可读的证书（应为 PEM 或 DER 格式）",
                                 f"the trust root file {path} holds no readable certificate (PEM or DER expected)")
    if not_ca:
        raise ConfigurationError(f"受信任的根证书文件 {path} 中的 {not_ca[0]} 不是 CA 证书",
                                 f"{not_ca[0]} in the trust root file {path} is not a CA certificate")
    return found


def load_trust_roots(files: Sequence[Path]) -> list[x509.Certificate]:
    """Every certificate of ``files``. Raises ConfigurationError, naming the file, for one that cannot be read,
    holds no certificate, or holds one that is not a CA's."""
    return [cert for path in files for cert in _read(path)]
