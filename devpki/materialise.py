"""init-pki: the declared PKI's keys and the files the service reads, under ``certs/`` (layout:
``service/signing/paths.py``).

What exists is kept and what is missing is added (a key, a newly configured agency's certificate); a
file whose certificate no longer matches the declaration is rewritten. Keys are generated here, with
``cryptography``, because certomancer only reads them; every RSA/EC certificate comes from certomancer, the SM2 ones
from ``sm2.py`` (certomancer cannot sign with SM2).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Iterable
from pathlib import Path

from asn1crypto import pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from service.agencies import Agency
from service.signing.paths import PkiPaths, read_passphrase

from . import sm2
from .declaration import (
    INTERMEDIATE,
    ROOT,
    TSA,
    TSA_NEXT,
    State,
    dev_agencies,
    dev_sm2_agencies,
    load_dev_pki,
)

# Files of the PKI before it was declared with certomancer: replaced by the declaration's.
_OLD_LAYOUT = ("tsa.p12", "private/root-ca.key.pem", "private/intermediate-ca.key.pem")
_PORTS = range(20000, 30000)  # below Linux's ephemeral ports, so that no outgoing connection holds ours


def _write_private(path: Path, data: bytes) -> None:
    """Readable by the owner alone, and replaced at once: a running service never reads it half written."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _new_key(algorithm: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if algorithm == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"pki.yml: unknown key algorithm {algorithm!r}")


def _free_port() -> int:
    for port in secrets.SystemRandom().sample(_PORTS, 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free loopback port for the development PKI's services")


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def _holds(p12: Path, cert_der: bytes, passphrase: bytes) -> bool:
    """Whether ``p12`` opens with ``passphrase`` and holds the certificate ``cert_der``."""
    try:
        bundle = pkcs12.load_pkcs12(p12.read_bytes(), passphrase)
    except (OSError, ValueError):
        return False
    return bundle.cert is not None and bundle.cert.certificate.public_bytes(serialization.Encoding.DER) == cert_der


def init_pki(certs_dir: Path, agencies: Iterable[Agency]) -> list[str]:
    """Creates or updates the development PKI under ``certs_dir``; returns what it wrote (no secrets)."""
    agencies = list(agencies)
    paths = PkiPaths(certs_dir)
    created: list[str] = []
    paths.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(paths.private, 0o700)
    if not paths.passphrase_file.exists():
        _write_private(paths.passphrase_file, secrets.token_urlsafe(24).encode())
        created.append("passphrase")
    passphrase = read_passphrase(paths.passphrase_file)
    encryption = serialization.BestAvailableEncryption(passphrase)

    try:
        state = State.read(paths)
    except (OSError, ValueError, KeyError):
        state = State(url=f"http://127.0.0.1:{_free_port()}", agencies={})
        created.append(f"loopback address of the PKI's services ({state.url})")
    certified = {**state.agencies, **dev_agencies(agencies)}  # an agency once certified keeps its certificate
    state = dataclasses.replace(state, agencies=certified)
    declaration = state.declaration()
    for label, name in declaration.key_files.items():
        if not (paths.keys / name).exists():
            key = _new_key(declaration.key_algorithms[label])
            _write_private(paths.keys / name, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
            created.append(f"key {label} ({declaration.key_algorithms[label]})")
    state.write(paths)

    pki = load_dev_pki(certs_dir)
    for path, label, what in ((paths.root_cert, ROOT, "root CA certificate"), (paths.intermediate_cert, INTERMEDIATE, "intermediate CA certificate"),
                              (paths.tsa_cert, TSA, "TSA certificate"), (paths.tsa_next_cert, TSA_NEXT, "next TSA certificate")):
        if _write_if_changed(path, pem.armor("CERTIFICATE", pki.arch.get_cert(label).dump())):
            created.append(what)
    if not _holds(paths.persons_ca, pki.cert("persons").dump(), passphrase):
        _write_private(paths.persons_ca, pki.arch.package_pkcs12("persons", password=passphrase))
        created.append("persons CA (staff and event certificates)")
    for agency_id, name in certified.items():
        label = state.current_label(agency_id)  # its latest generation (rotation.py)
        target = paths.agency(agency_id)
        if not _holds(target, pki.cert(label).dump(), passphrase):
            _write_private(target, pki.arch.package_pkcs12(label, password=passphrase))
            created.append(f"signing certificate of {name} ({agency_id})")
    paths.sm2_root_key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    created += sm2.materialise(paths, state.url, dev_sm2_agencies(agencies), passphrase, _write_private)
    for old in _OLD_LAYOUT:
        if (certs_dir / old).exists():
            (certs_dir / old).unlink()
            created.append(f"removed {old} (the PKI before its declaration)")
    return created
