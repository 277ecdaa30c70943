"""A new key and certificate for an agency of the development PKI: ``python -m service key rotate`` and, with the old
certificate revoked for key compromise, ``python -m service key compromise``.

The rotation adds a generation to ``certs/dev-pki.json`` (its certificate is valid from now, with a serial of its own),
generates its key, and writes ``certs/agencies/<id>.p12`` again with it. The earlier certificate stays declared, so
that the documents it signed still find their chain; when its key was compromised, it is declared revoked since the
reported time with reason keyCompromise, and the CA's CRL lists it. Every file is replaced at once, the key before the
state that declares it and the state before the PKCS#12 file: a running service (its key store and its PKI server
reload what changed) never meets a state whose key is missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509
from cryptography.hazmat.primitives import serialization

from service.errors import ConfigurationError
from service.signing.paths import PkiPaths, read_passphrase

from .declaration import agency_label, declared_time, load_dev_pki
from .materialise import _new_key, _write_private

KEY_COMPROMISE = "key_compromise"


@dataclass(frozen=True)
class Rotation:
    agency_id: str
    old_label: str
    new_label: str
    old_cert: x509.Certificate
    new_cert: x509.Certificate
    revoked_since: dt.datetime | None  # the old certificate is declared revoked from then on (UTC, whole seconds)


@contextmanager
def _exclusive(paths: PkiPaths) -> Iterator[None]:
    """One rotation at a time on this PKI, whichever process runs it."""
    with open(paths.private / ".rotation.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _parse(declared: str) -> dt.datetime:
    return dt.datetime.strptime(declared, "%Y-%m-%dT%H:%M:%S%z")


def rotate(certs_dir: Path, agency_id: str, now: dt.datetime, revoke_since: dt.datetime | None = None,
           expected: x509.Certificate | None = None) -> Rotation:
    """Gives the agency a new key and certificate; with ``revoke_since``, declares its current certificate revoked for key
    compromise since then (or since an earlier time already declared). ``expected``: the certificate the agency signs
    with now (its PKCS#12 file's), which must be the declaration's current one.

    Raises ConfigurationError when the development PKI is incomplete, does not certify the agency (an agency with its
    own key) or declares another current certificate than ``expected`` (nothing is changed then); OSError when a file
    cannot be written."""
    paths = PkiPaths(certs_dir)
    with _exclusive(paths):
        pki = load_dev_pki(certs_dir)
        state = pki.state
        if agency_id not in state.agencies:
            raise ConfigurationError(f"开发用 PKI 未给机关 {agency_id} 签发证书（自带密钥的机关须向其 CA 申请新证书）",
                                     f"the development PKI does not certify agency {agency_id} (an agency with its own key asks its CA)")
        old_label = state.current_label(agency_id)
        if expected is not None and pki.cert(old_label).dump() != expected.dump():
            raise ConfigurationError(f"机关 {agency_id} 的签名证书文件与开发用 PKI 的声明不一致，请先运行 python -m service init-pki",
                                     f"agency {agency_id}'s PKCS#12 file does not hold the development PKI's current certificate "
                                     f"({old_label}): run python -m service init-pki first")
        new_label = agency_label(agency_id, state.generation(agency_id) + 1)
        declaration = state.declaration()
        passphrase = read_passphrase(paths.passphrase_file)
        key = _new_key(declaration.key_algorithms[old_label])
        _write_private(paths.keys / f"{new_label}.key.pem",
                       key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(passphrase)))
        revoked = dict(state.revoked)
        since = None
        if revoke_since is not None:
            since = _parse(declared_time(revoke_since))
            if old_label in revoked:
                since = min(since, _parse(revoked[old_label]["since"]))
            revoked[old_label] = {"since": declared_time(since), "reason": KEY_COMPROMISE}
        generations = {**state.generations, agency_id: [*state.generations.get(agency_id, []), declared_time(now)]}
        dataclasses.replace(state, generations=generations, revoked=revoked).write(paths)
        rotated = load_dev_pki(certs_dir)
        _write_private(paths.agency(agency_id), rotated.arch.package_pkcs12(new_label, password=passphrase))
        return Rotation(agency_id, old_label, new_label, pki.cert(old_label), rotated.cert(new_label), since)
