"""The declaration (``pki.yml``) with one signing certificate per configured agency, and the PKI that
certomancer builds from it and the keys under ``certs/private/keys``.

Certomancer derives every certificate from the declaration and the keys, and RSA signatures are
deterministic: the same keys give the same certificates, byte for byte, in init-pki, in the service's
development TSA and in the tests. An agency's serial number comes from its id, so adding or reordering
agencies changes no other certificate.

An agency's key can be replaced (``rotation.py``: ``python -m service key rotate`` and ``key compromise``): each new
generation is one more certificate of the same agency, with a key and a serial of its own, valid from when it was
made. Earlier generations stay declared, so that the documents they signed still find their chains; one whose key was
reported compromised is declared revoked (certomancer's ``revocation``), so that its CA's CRL lists it.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
ROOT, INTERMEDIATE, TSA, TSA_NEXT = CertLabel("root"), CertLabel("interm"), CertLabel("tsa"), CertLabel("tsa-next")
TSA_SERVICE, TSA_NEXT_SERVICE = ServiceLabel("tsa"), ServiceLabel("tsa-next")


def agency_label(agency_id: str, generation: int = 1) -> str:
    """The label of an agency's certificate (and key) of that generation. A later generation's label ends in ``.gN``:
    an agency id has no dot, so no agency's first label is another's later one."""
    return f"agency-{agency_id}" if generation == 1 else f"agency-{agency_id}.g{generation}"


def agency_serial(agency_id: str, generation: int = 1) -> int:
    """A positive 63-bit serial number that depends on the agency's id (and generation) alone."""
    seed = f"chengnuo agency {agency_id}" if generation == 1 else f"chengnuo agency {agency_id} generation {generation}"
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") >> 1


def declared_time(moment: dt.datetime) -> str:
    """A time as pki.yml writes one (UTC, whole seconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


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


def declare(agencies: Mapping[str, str], generations: Mapping[str, Sequence[str]] | None = None,
            revoked: Mapping[str, Mapping[str, str]] | None = None) -> Declaration:
    """``pki.yml`` with an entity, a key and a signing certificate for every agency (id → name), one more certificate
    and key for each later generation (id → the valid-from times of generations 2, 3, …), and certomancer's
    ``revocation`` on each revoked certificate (label → {since, reason})."""
    config = yaml.safe_load(DECLARATION.read_text(encoding="utf-8"))
    algorithms: dict[str, str] = config.pop("key-algorithms")
    template: dict[str, Any] = config.pop("agency-certificate")
    arch = config["pki-architectures"][str(ARCH)]
    keys = config["keysets"][arch["keyset"]]["keys"]
    for agency_id, name in agencies.items():
        entity = agency_label(agency_id)
        arch["entities"][entity] = {"organization-name": name, "common-name": name}
        starts = [None, *(generations or {}).get(agency_id, ())]
        for generation, valid_from in enumerate(starts, start=1):
            label = agency_label(agency_id, generation)
            keys[label] = {"path": f"{label}.key.pem"}
            spec = {**copy.deepcopy(template), "subject": entity, "subject-key": label, "serial": agency_serial(agency_id, generation)}
            if valid_from is not None:
                spec["validity"] = {**spec["validity"], "valid-from": valid_from}
            arch["certs"][label] = spec
    for label, revocation in (revoked or {}).items():
        if label in arch["certs"]:
            arch["certs"][label]["revocation"] = {"revoked-since": revocation["since"], "reason": revocation["reason"]}
    return Declaration(
        config=config,
        key_files={label: entry["path"] for label, entry in keys.items()},
        key_algorithms={label: algorithms.get(label, algorithms["default"]) for label in keys},
    )


@dataclass(frozen=True)
class State:
    """What init-pki chose and certified, kept in ``certs/dev-pki.json``; and what rotations added since."""

    url: str  # the loopback address under which the declared services answer
    agencies: dict[str, str]  # id → name of every agency it issued a certificate to
    generations: dict[str, list[str]] = field(default_factory=dict)  # id → valid-from of its generations 2, 3, …
    revoked: dict[str, dict[str, str]] = field(default_factory=dict)  # certificate label → {since, reason}

    def generation(self, agency_id: str) -> int:
        """The agency's current generation: 1 until its key was first rotated."""
        return 1 + len(self.generations.get(agency_id, ()))

    def current_label(self, agency_id: str) -> str:
        return agency_label(agency_id, self.generation(agency_id))

    @classmethod
    def read(cls, paths: PkiPaths) -> State:
        """Raises OSError, ValueError or KeyError."""
        raw = json.loads(paths.services_file.read_text(encoding="utf-8"))
        return cls(url=str(raw["url"]), agencies={str(k): str(v) for k, v in raw["agencies"].items()},
                   generations={str(k): [str(t) for t in v] for k, v in raw.get("generations", {}).items()},
                   revoked={str(k): {"since": str(v["since"]), "reason": str(v["reason"])} for k, v in raw.get("revoked", {}).items()})

    def write(self, paths: PkiPaths) -> None:
        """Replaces the file at once (a running server reloads it when it changes: never half written). Raises OSError."""
        state: dict[str, Any] = {"url": self.url, "agencies": self.agencies}
        if self.generations:
            state["generations"] = self.generations
        if self.revoked:
            state["revoked"] = self.revoked
        temporary = paths.services_file.with_name(f".{paths.services_file.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, paths.services_file)

    def declaration(self) -> Declaration:
        return declare(self.agencies, self.generations, self.revoked)


@dataclass(frozen=True)
class DevPki:
    """The declared PKI as certomancer builds it from the keys under ``certs/private/keys``."""

    arch: PKIArchitecture
    paths: PkiPaths
    url: str  # prefix of every service URL the certificates name
    state: State

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
        return self.service_path(TSA_SERVICE)

    @property
    def tsa_next_path(self) -> str:
        """The path of the TSA with the next, longer-lived certificate (``tsa-next``): what archives are renewed with."""
        return self.service_path(TSA_NEXT_SERVICE)

    def service_path(self, service: ServiceLabel) -> str:
        """The path of the time-stamping service ``service`` on the services' server."""
        return self.arch.service_registry.get_tsa_info(service).full_relative_url


def _build(config: dict[str, Any], key_dir: Path, url: str) -> PKIArchitecture:
    """certomancer's PKI with every certificate issued up front, and kept as parsed from its DER.

    asn1crypto re-encodes a structure it built from values each time it is nested and dumped: a
    timestamp token embedding the certificates as certomancer issued them took 13 ms to encode instead
    of 1. The cache handed to certomancer (its ``cert_cache`` parameter) is ours to fill with the same
    certificates, loaded from their bytes.

    Certomancer's CRLs follow a simulated schedule (``simulated-update-schedule``: the intermediate's every 7 days) and
    list what was revoked by the start of the current period. A revocation declared since (a key reported compromised,
    ``rotation.py``) is listed at once instead, as a CA publishes a new CRL when it revokes: each CRL lists what is
    revoked when it is made.
    """
    key_sets = KeySets(config["keysets"], search_dir=SearchDir(str(key_dir)), lazy_load_keys=True)
    cache: dict[CertLabel, x509.Certificate] = {}
    arch = PKIArchitecture.build_architecture(arch_label=ARCH, cfg=config["pki-architectures"][str(ARCH)], key_sets=key_sets,
                                              external_url_prefix=url, cert_cache=cache)
    for label in config["pki-architectures"][str(ARCH)]["certs"]:
        arch.get_cert(CertLabel(label))
    cache.update({label: x509.Certificate.load(cert.dump()) for label, cert in cache.items()})
    listed = arch.get_revoked_certs_at_time

    def revoked_at_once(at_time: dt.datetime, crl_info: Any) -> Any:
        return listed(max(at_time, dt.datetime.now(dt.UTC)), crl_info)

    arch.get_revoked_certs_at_time = revoked_at_once  # type: ignore[method-assign]
    return arch


def load_dev_pki(certs_dir: Path, url: str | None = None) -> DevPki:
    """The declared PKI over the keys and agencies init-pki made. Raises ConfigurationError when init-pki
    has not run (or its files are damaged).

    ``url``: the same PKI, but with its services (CRLs, OCSP) named at another address — for tests of a
    responder that does not answer; by default the address init-pki chose."""
    paths = PkiPaths(certs_dir)
    try:
        state = State.read(paths)
        declaration = state.declaration()
        config = copy.deepcopy(declaration.config)
        passphrase = read_passphrase(paths.passphrase_file).decode()
        missing = [name for name in declaration.key_files.values() if not (paths.keys / name).is_file()]
        if missing:
            raise FileNotFoundError(missing)
        for keyset in config["keysets"].values():
            keyset["default-password"] = passphrase
        return DevPki(_build(config, paths.private, url or state.url), paths, url or state.url, state)
    except (OSError, ValueError, KeyError, CertomancerConfigurationError):
        raise ConfigurationError(
            f"开发用 PKI 不完整（{certs_dir}），请运行 python -m service init-pki",
            f"the development PKI in {certs_dir} is incomplete: run python -m service init-pki",
        ) from None
