"""The declaration (``pki.yml``) with one signing certificate per configured agency, and the PKI that
certomancer builds from it and the keys under ``certs/private/keys``.

Certomancer derives every certificate from the declaration and the keys, and RSA signatures are
deterministic: the same keys give the same certificates, byte for byte, in init-pki, in the service's
development TSA and in the tests. An agency's serial number comes from its id, so adding or reordering
agencies changes no other certificate.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certomancer.default_plugins  # noqa: F401 - registers the profiles and extension values pki.yml uses
import yaml
from asn1crypto import x509
from certomancer.config_utils import ConfigurationError as CertomancerConfigurationError
from certomancer.config_utils import SearchDir
from certomancer.registry import (
    ArchLabel,
    CertLabel,
    KeyLabel,
    KeySets,
    PKIArchitecture,
    ServiceLabel,
)
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from service.agencies import Agency
from service.errors import ConfigurationError
from service.signing.paths import PkiPaths, read_passphrase

DECLARATION = Path(__file__).with_name("pki.yml")
ARCH = ArchLabel("chengnuo-dev")
ROOT, INTERMEDIATE, TSA = CertLabel("root"), CertLabel("interm"), CertLabel("tsa")
TSA_SERVICE = ServiceLabel("tsa")


def agency_label(agency_id: str) -> str:
    return f"agency-{agency_id}"


def agency_serial(agency_id: str) -> int:
    """A positive 63-bit serial number that depends on the agency's id alone."""
    return int.from_bytes(hashlib.sha256(f"chengnuo agency {agency_id}".encode()).digest()[:8], "big") >> 1


def dev_agencies(agencies: Iterable[Agency]) -> dict[str, str]:
    """Id → name of the agencies the development PKI's RSA side certifies: those without a key of their own (SM2
    agencies get theirs from ``sm2.py``)."""
    return {agency.id: agency.name for agency in agencies if agency.pkcs12 is None and not agency.sm2}


def dev_sm2_agencies(agencies: Iterable[Agency]) -> dict[str, str]:
    """Id → name of the SM2 agencies whose key the development PKI holds (no signing server, no token)."""
    return {agency.id: agency.name for agency in agencies if agency.sm2 and not agency.own_key}


@dataclass(frozen=True)
class Declaration:
    config: dict[str, Any]  # certomancer's configuration (without our two entries)
    key_files: dict[str, str]  # key label → file name under certs/private/keys
    key_algorithms: dict[str, str]  # key label → rsa-2048 | ec-p256


def declare(agencies: Mapping[str, str]) -> Declaration:
    """``pki.yml`` with an entity, a key and a signing certificate for every agency (id → name)."""
    config = yaml.safe_load(DECLARATION.read_text(encoding="utf-8"))
    algorithms: dict[str, str] = config.pop("key-algorithms")
    template: dict[str, Any] = config.pop("agency-certificate")
    arch = config["pki-architectures"][str(ARCH)]
    keys = config["keysets"][arch["keyset"]]["keys"]
    for agency_id, name in agencies.items():
        label = agency_label(agency_id)
        arch["entities"][label] = {"organization-name": name, "common-name": name}
        keys[label] = {"path": f"{label}.key.pem"}
        arch["certs"][label] = {**copy.deepcopy(template), "subject": label, "serial": agency_serial(agency_id)}
    return Declaration(
        config=config,
        key_files={label: entry["path"] for label, entry in keys.items()},
        key_algorithms={label: algorithms.get(label, algorithms["default"]) for label in keys},
    )


@dataclass(frozen=True)
class State:
    """What init-pki chose and certified, kept in ``certs/dev-pki.json``."""

    url: str  # the loopback address under which the declared services answer
    agencies: dict[str, str]  # id → name of every agency it issued a certificate to

    @classmethod
    def read(cls, paths: PkiPaths) -> State:
        """Raises OSError, ValueError or KeyError."""
        raw = json.loads(paths.services_file.read_text(encoding="utf-8"))
        return cls(url=str(raw["url"]), agencies={str(k): str(v) for k, v in raw["agencies"].items()})

    def write(self, paths: PkiPaths) -> None:
        text = json.dumps({"url": self.url, "agencies": self.agencies}, ensure_ascii=False, indent=2)
        paths.services_file.write_text(text + "\n", encoding="utf-8")


@dataclass(frozen=True)
class DevPki:
    """The declared PKI as certomancer builds it from the keys under ``certs/private/keys``."""

    arch: PKIArchitecture
    paths: PkiPaths
    url: str  # prefix of every service URL the certificates name

    def cert(self, label: str) -> x509.Certificate:
        return self.arch.get_cert(CertLabel(label))

    def signer(self, label: str) -> SimpleSigner:
        """A pyHanko signer with the certificate ``label``, its key and its chain (the test signers')."""
        spec = self.arch.get_cert_spec(CertLabel(label))
        chain = [self.arch.get_cert(c) for c in self.arch.get_chain(CertLabel(label))]
        return SimpleSigner(
            signing_cert=self.cert(label),
            signing_key=self.arch.key_set.get_private_key(KeyLabel(str(spec.subject_key))),
            cert_registry=SimpleCertificateStore.from_certs(chain),
        )

    @property
    def tsa_path(self) -> str:
        """The TSA's path on the services' server (certomancer's Animator)."""
        return self.arch.service_registry.get_tsa_info(TSA_SERVICE).full_relative_url


def _build(config: dict[str, Any], key_dir: Path, url: str) -> PKIArchitecture:
    """certomancer's PKI with every certificate issued up front, and kept as parsed from its DER.

    asn1crypto re-encodes a structure it built from values each time it is nested and dumped: a
    timestamp token embedding the certificates as certomancer issued them took 13 ms to encode instead
    of 1. The cache handed to certomancer (its ``cert_cache`` parameter) is ours to fill with the same
    certificates, loaded from their bytes.
    """
    key_sets = KeySets(config["keysets"], search_dir=SearchDir(str(key_dir)), lazy_load_keys=True)
    cache: dict[CertLabel, x509.Certificate] = {}
    arch = PKIArchitecture.build_architecture(arch_label=ARCH, cfg=config["pki-architectures"][str(ARCH)], key_sets=key_sets,
                                              external_url_prefix=url, cert_cache=cache)
    for label in config["pki-architectures"][str(ARCH)]["certs"]:
        arch.get_cert(CertLabel(label))
    cache.update({label: x509.Certificate.load(cert.dump()) for label, cert in cache.items()})
    return arch


def load_dev_pki(certs_dir: Path, url: str | None = None) -> DevPki:
    """The declared PKI over the keys and agencies init-pki made. Raises ConfigurationError when init-pki
    has not run (or its files are damaged).

    ``url``: the same PKI, but with its services (CRLs, OCSP) named at another address — for tests of a
    responder that does not answer; by default the address init-pki chose."""
    paths = PkiPaths(certs_dir)
    try:
        state = State.read(paths)
        declaration = declare(state.agencies)
        config = copy.deepcopy(declaration.config)
        passphrase = read_passphrase(paths.passphrase_file).decode()
        missing = [name for name in declaration.key_files.values() if not (paths.keys / name).is_file()]
        if missing:
            raise FileNotFoundError(missing)
        for keyset in config["keysets"].values():
            keyset["default-password"] = passphrase
        return DevPki(_build(config, paths.private, url or state.url), paths, url or state.url)
    except (OSError, ValueError, KeyError, CertomancerConfigurationError):
        raise ConfigurationError(
            f"开发用 PKI 不完整（{certs_dir}），请运行 python -m service init-pki",
            f"the development PKI in {certs_dir} is incomplete: run python -m service init-pki",
        ) from None
