"""The development PKI's SM2 side: an SM2 root CA, one SM2 signing certificate per agency marked
``algorithm = "sm2"``, the seal maker (制章者) that signs agencies' electronic seals (GB/T 38540 ``SESeal``,
``service/gm/eseal.py``), and the root's CRL — beside the RSA PKI of ``pki.yml``, which it leaves untouched.

Certomancer cannot sign with SM2 and tongsuopy 1.0.1 has no X.509 builder, so the certificates and the CRL are
declared here with asn1crypto and signed with tongsuopy (SM2 with SM3, GM/T 0009's default distinguishing ID), as
a CA would. SM2 signatures are randomised: unlike the RSA ones, these certificates are made once by init-pki and
kept (``certs/sm2-root-ca.pem``, ``certs/agencies/<id>.sm2.pem``), not re-derived from the keys.

The agencies' certificates name the root's CRL at the development PKI's loopback address (``CRL_PATH``), where
``server.py`` answers it, made afresh and valid for a week, as certomancer does for the RSA CAs: the SM2
agencies' signatures embed it for PAdES B-LT/B-LTA.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from asn1crypto import algos, core, crl, keys, pem, x509
from tongsuopy.crypto import serialization
from tongsuopy.crypto.asymciphers import ec

import service.gm  # noqa: F401 - registers the SM2 OIDs
from service.gm import sm2
from service.signing.paths import PkiPaths

CRL_PATH = "/chengnuo-dev/sm2/crls/sm2-root.crl"
ROOT_NAME = "Chengnuo Development SM2 Root CA"
SEAL_MAKER_NAME = "Chengnuo Development Seal Maker"
ORGANISATION = "Chengnuo Development PKI"
ROOT_VALIDITY = (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
AGENCY_VALIDITY = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2035, 1, 1, tzinfo=dt.UTC))
CRL_LIFETIME = dt.timedelta(days=7)
_SM2_SM3 = algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"})


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SM2())


def key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(passphrase))


def load_key(path: Path, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
    """Raises OSError, ValueError."""
    return serialization.load_pem_private_key(path.read_bytes(), passphrase)


def public_info(key: ec.EllipticCurvePrivateKey) -> keys.PublicKeyInfo:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return keys.PublicKeyInfo.load(der)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name.build({"country_name": "CN", "organization_name": organisation, "common_name": common_name})


def _key_id(public: keys.PublicKeyInfo) -> bytes:
    return hashlib.sha1(public["public_key"].contents, usedforsecurity=False).digest()  # RFC 5280 §4.2.1.2, method 1


def _ext(name: str, value: object, critical: bool = False) -> dict[str, object]:
    return {"extn_id": name, "critical": critical, "extn_value": value}


def _sign_cert(tbs: x509.TbsCertificate, issuer_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": _SM2_SM3,
                             "signature_value": sm2.sign(issuer_key, tbs.dump())})


def root_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    public = public_info(key)
    name = _name(ROOT_NAME, ORGANISATION)
    tbs = x509.TbsCertificate({
        "version": "v3", "serial_number": 0x5332_0001, "signature": _SM2_SM3, "issuer": name, "subject": name,
        "validity": {"not_before": x509.Time({"utc_time": ROOT_VALIDITY[0]}), "not_after": x509.Time({"utc_time": ROOT_VALIDITY[1]})},
        "subject_public_key_info": public,
        "extensions": [
            _ext("basic_constraints", {"ca": True, "path_len_constraint": 0}, critical=True),
            _ext("key_usage", {"key_cert_sign", "crl_sign"}, critical=True),
            _ext("key_identifier", _key_id(public)),
        ],
    })
    return _sign_cert(tbs, key)


def agency_serial(agency_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"chengnuo sm2 agency {agency_id}".encode()).digest()[:8], "big") >> 1


def _end_entity(serial: int, subject: x509.Name, public: keys.PublicKeyInfo, root: x509.Certificate,
                root_key: ec.EllipticCurvePrivateKey, *extra: dict[str, object]) -> x509.Certificate:
    """A signing certificate under the SM2 root: digital signature and non-repudiation, with ``extra`` extensions."""
    tbs = x509.TbsCertificate({
        "version": "v3", "serial_number": serial, "signature": _SM2_SM3, "issuer": root.subject, "subject": subject,
        "validity": {"not_before": x509.Time({"utc_time": AGENCY_VALIDITY[0]}), "not_after": x509.Time({"utc_time": AGENCY_VALIDITY[1]})},
        "subject_public_key_info": public,
        "extensions": [
            _ext("basic_constraints", {"ca": False}, critical=True),
            _ext("key_usage", {"digital_signature", "non_repudiation"}, critical=True),
            _ext("key_identifier", _key_id(public)),
            _ext("authority_key_identifier", {"key_identifier": root.key_identifier}),
            *extra,
        ],
    })
    return _sign_cert(tbs, root_key)


def agency_certificate(agency_id: str, name: str, public: keys.PublicKeyInfo, root: x509.Certificate,
                       root_key: ec.EllipticCurvePrivateKey, crl_url: str) -> x509.Certificate:
    return _end_entity(agency_serial(agency_id), _name(name, name), public, root, root_key,
                       _ext("crl_distribution_points", [{"distribution_point": x509.DistributionPointName(
                           name="full_name", value=[x509.GeneralName(name="uniform_resource_identifier", value=crl_url)])}]))


def seal_maker_certificate(public: keys.PublicKeyInfo, root: x509.Certificate,
                           root_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    """The seal maker's certificate (制章者证书): an end-entity SM2 certificate under the SM2 root, for signing seals."""
    return _end_entity(agency_serial("seal-maker"), _name(SEAL_MAKER_NAME, ORGANISATION), public, root, root_key)


def root_crl(root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey, now: dt.datetime, number: int) -> crl.CertificateList:
    """The SM2 root's CRL as of ``now``: nothing revoked, the next one due a week later."""
    tbs = crl.TbsCertList({
        "version": "v2", "signature": _SM2_SM3, "issuer": root.subject,
        "this_update": x509.Time({"utc_time": now}), "next_update": x509.Time({"utc_time": now + CRL_LIFETIME}),
        "crl_extensions": [
            {"extn_id": "crl_number", "critical": False, "extn_value": core.Integer(number)},
            {"extn_id": "authority_key_identifier", "critical": False, "extn_value": {"key_identifier": root.key_identifier}},
        ],
    })
    return crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": _SM2_SM3,
                                "signature": sm2.sign(root_key, tbs.dump())})


def read_cert(path: Path) -> x509.Certificate:
    """The first certificate of a PEM or DER file. Raises OSError, ValueError."""
    data = path.read_bytes()
    if pem.detect(data):
        _, _, data = next(pem.unarmor(data, multiple=True))
    return x509.Certificate.load(data)


def materialise(paths: PkiPaths, url: str, agencies: dict[str, str], passphrase: bytes, write_private) -> list[str]:
    """The SM2 root and each SM2 agency's key and certificate under ``paths``, kept when present and still matching;
    returns what was written. ``write_private(path, data)`` writes a secret (mode 0600)."""
    created: list[str] = []
    if not paths.sm2_root_key.exists():
        write_private(paths.sm2_root_key, key_pem(new_key(), passphrase))
        created.append("key sm2-root (sm2)")
    root_key = load_key(paths.sm2_root_key, passphrase)
    try:
        root = read_cert(paths.sm2_root_cert)
        if root.public_key.dump() != public_info(root_key).dump():
            raise ValueError("another key")
    except (OSError, ValueError):
        root = root_certificate(root_key)
        paths.sm2_root_cert.write_bytes(pem.armor("CERTIFICATE", root.dump()))
        created.append("SM2 root CA certificate")
    for agency_id, name in agencies.items():
        key_path, cert_path = paths.sm2_agency_key(agency_id), paths.sm2_agency_cert(agency_id)
        if not key_path.exists():
            write_private(key_path, key_pem(new_key(), passphrase))
            created.append(f"key of {agency_id} (sm2)")
        public = public_info(load_key(key_path, passphrase))
        try:
            certs = [x509.Certificate.load(der) for _, _, der in pem.unarmor(cert_path.read_bytes(), multiple=True)]
            current = (certs[0].public_key.dump() == public.dump() and certs[0].issuer == root.subject
                       and certs[0].subject.native["common_name"] == name and [c.dump() for c in certs[1:]] == [root.dump()]
                       and url + CRL_PATH in str(certs[0].crl_distribution_points_value.native))
        except (OSError, ValueError, IndexError, KeyError, AttributeError):
            current = False
        if not current:
            cert = agency_certificate(agency_id, name, public, root, root_key, url + CRL_PATH)
            cert_path.parent.mkdir(parents=True, exist_ok=True)
            cert_path.write_bytes(pem.armor("CERTIFICATE", cert.dump()) + pem.armor("CERTIFICATE", root.dump()))
            created.append(f"SM2 signing certificate of {name} ({agency_id})")
    created += _materialise_seal_maker(paths, root, root_key, passphrase, write_private)
    return created


def _materialise_seal_maker(paths: PkiPaths, root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey, passphrase: bytes,
                            write_private) -> list[str]:
    """The seal maker's key and certificate (with the SM2 root after it), kept when present and still matching."""
    created: list[str] = []
    if not paths.seal_maker_key.exists():
        write_private(paths.seal_maker_key, key_pem(new_key(), passphrase))
        created.append("key seal-maker (sm2)")
    public = public_info(load_key(paths.seal_maker_key, passphrase))
    try:
        certs = [x509.Certificate.load(der) for _, _, der in pem.unarmor(paths.seal_maker_cert.read_bytes(), multiple=True)]
        current = (certs[0].public_key.dump() == public.dump() and certs[0].issuer == root.subject
                   and [c.dump() for c in certs[1:]] == [root.dump()])
    except (OSError, ValueError, IndexError):
        current = False
    if not current:
        cert = seal_maker_certificate(public, root, root_key)
        paths.seal_maker_cert.write_bytes(pem.armor("CERTIFICATE", cert.dump()) + pem.armor("CERTIFICATE", root.dump()))
        created.append("SM2 seal maker certificate (制章者)")
    return created
