"""Where the files of the development PKI lie under ``certs/`` (``devpki`` writes them; the service reads
the agencies' PKCS#12 files, the passphrase and the development TSA's certificate).

    certs/root-ca.pem              trust anchor (give it to validators: pdfsig, pyHanko, Adobe)
    certs/intermediate-ca.pem      embedded in every signature with the signer's certificate
    certs/tsa.pem                  the development TSA's certificate: timestamps it signed say so
    certs/tsa-next.pem             its next certificate (the development ``tsa-next`` service), likewise
    certs/dev-pki.json             where the development PKI's services answer on loopback
    certs/agencies/<id>.p12        each agency's signing key and certificate chain
    certs/persons-ca.p12           the CA that issues staff and event certificates at run time
    certs/sm2-root-ca.pem          the SM2 root CA (国密), a trust anchor beside root-ca.pem
    certs/agencies/<id>.sm2.pem    an SM2 agency's certificate and the SM2 root (its key: private/sm2/)
    certs/seal-maker.sm2.pem       the development seal maker (制章者, GB/T 38540) and the SM2 root (its key: private/sm2/)
    certs/seals/<id>.esl           an agency's electronic seal (SESeal), as ``python -m service seal make`` writes it
    certs/private/                 the declaration's keys and the passphrase (mode 0700; never in git, logs or responses)

A deployment points the service at its own PKCS#12 files and trust roots instead (``agencies.toml``
``pkcs12``/``passphrase_file``, ``CHENGNUO_TRUST_ROOTS``, ``CHENGNUO_TSA_URL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    def tsa_next_cert(self) -> Path:
        return self.root / "tsa-next.pem"

    @property
    def development_tsa_certs(self) -> tuple[Path, ...]:
        return (self.tsa_cert, self.tsa_next_cert)

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

    @property
    def persons_ca(self) -> Path:
        return self.root / "persons-ca.p12"

    def agency(self, agency_id: str) -> Path:
        return self.root / "agencies" / f"{agency_id}.p12"

    @property
    def sm2_root_cert(self) -> Path:
        return self.root / "sm2-root-ca.pem"

    @property
    def sm2_root_key(self) -> Path:
        return self.private / "sm2" / "sm2-root.key.pem"

    def sm2_agency_cert(self, agency_id: str) -> Path:
        return self.root / "agencies" / f"{agency_id}.sm2.pem"

    def sm2_agency_key(self, agency_id: str) -> Path:
        return self.private / "sm2" / f"{agency_id}.key.pem"

    @property
    def seal_maker_cert(self) -> Path:
        return self.root / "seal-maker.sm2.pem"

    @property
    def seal_maker_key(self) -> Path:
        return self.private / "sm2" / "seal-maker.key.pem"

    def seal(self, agency_id: str) -> Path:
        return self.root / "seals" / f"{agency_id}.esl"


def read_passphrase(path: Path) -> bytes:
    """Raises OSError."""
    return path.read_bytes().strip()
