"""The 国密 object identifiers, registered with asn1crypto once per process (GM/T 0006, GM/T 0010).

asn1crypto knows neither SM2 nor SM3. pyHanko and pyhanko-certvalidator read every algorithm through asn1crypto's
classes, so this module patches them at process level — the one place that does:

- ``DigestAlgorithmId``: 1.2.156.10197.1.401 → ``sm3``;
- ``SignedDigestAlgorithmId``: 1.2.156.10197.1.501 → ``sm2_sm3`` (SM2 signature with SM3), and GM/T 0010's
  1.2.156.10197.1.301.1 → ``sm2_gm`` (SM2-1); ``SignedDigestAlgorithm.signature_algo`` answers ``sm2`` and
  ``hash_algo`` ``sm3`` for both;
- ``NamedCurve``: 1.2.156.10197.1.301 → ``sm2p256v1`` (the SM2 curve of an ``ec`` public key);
- ``ContentType``: GM/T 0010's SignedData (1.2.156.10197.6.1.4.2.2) and Data (1.2.156.10197.6.1.4.2.1) read as
  aliases of ``signed_data`` and ``data``, so that a container using them parses as the standard one. Names still
  encode to the standard OIDs: a GM/T 0010 OID is written only where it is given as such (``gm_content_type``).

The patch is written against asn1crypto 1.5.1 and checked there (tests/test_sm2.py pins it); another version fails
``register()`` loudly, naming what to re-check, rather than patching classes it does not know.
"""

from __future__ import annotations

import threading

import asn1crypto
from asn1crypto import algos, cms, core, keys
from asn1crypto import tsp as _tsp  # noqa: F401 - adds tst_info to ContentType: the reverse map below must know it

SM3 = "1.2.156.10197.1.401"
SM2_CURVE = "1.2.156.10197.1.301"
SM2_SM3 = "1.2.156.10197.1.501"
GM_SM2_SIGN = "1.2.156.10197.1.301.1"  # GM/T 0010's signature algorithm (SM2-1), as ofdrw and others write it
GM_DATA = "1.2.156.10197.6.1.4.2.1"
GM_SIGNED_DATA = "1.2.156.10197.6.1.4.2.2"

TESTED_ASN1CRYPTO = ("1.5.1",)

_SIGNATURE_NAMES = {"sm2_sm3": SM2_SM3, "sm2_gm": GM_SM2_SIGN}
_lock = threading.Lock()
_registered = False


class UnsupportedAsn1crypto(RuntimeError):
    """asn1crypto is not a version this module was checked against."""


def _standard_reverse(cls: type[core.ObjectIdentifier]) -> dict[str, str]:
    return {name: oid for oid, name in cls._map.items()}


def _with_sm2(original: property, answer: str) -> property:
    def getter(self: algos.SignedDigestAlgorithm) -> str:
        if self["algorithm"].native in _SIGNATURE_NAMES:
            return answer
        return original.fget(self)  # type: ignore[misc]

    return property(getter, doc=original.__doc__)


def register() -> None:
    """Registers the OIDs (module docstring); idempotent and thread-safe. Raises UnsupportedAsn1crypto on an
    asn1crypto version it was not checked against."""
    global _registered
    with _lock:
        if _registered:
            return
        if asn1crypto.__version__ not in TESTED_ASN1CRYPTO:
            raise UnsupportedAsn1crypto(
                f"service/gm/oids.py patches asn1crypto {', '.join(TESTED_ASN1CRYPTO)}, not {asn1crypto.__version__}: re-check "
                "DigestAlgorithmId, SignedDigestAlgorithmId, SignedDigestAlgorithm.signature_algo/hash_algo, NamedCurve and "
                "ContentType against the new version, then add it to TESTED_ASN1CRYPTO")
        algos.DigestAlgorithmId._map[SM3] = "sm3"
        algos.DigestAlgorithmId._reverse_map = _standard_reverse(algos.DigestAlgorithmId)
        for name, oid in _SIGNATURE_NAMES.items():
            algos.SignedDigestAlgorithmId._map[oid] = name
        algos.SignedDigestAlgorithmId._reverse_map = _standard_reverse(algos.SignedDigestAlgorithmId)
        keys.NamedCurve.register("sm2p256v1", SM2_CURVE, 32)
        # aliases: read as the standard names, while the names keep encoding to the standard OIDs. The reverse map is
        # fixed here, so every module that adds a content type (asn1crypto.tsp: tst_info) is imported above.
        standard = _standard_reverse(cms.ContentType)
        cms.ContentType._map[GM_DATA] = "data"
        cms.ContentType._map[GM_SIGNED_DATA] = "signed_data"
        cms.ContentType._reverse_map = standard
        algos.SignedDigestAlgorithm.signature_algo = _with_sm2(algos.SignedDigestAlgorithm.signature_algo, "sm2")
        algos.SignedDigestAlgorithm.hash_algo = _with_sm2(algos.SignedDigestAlgorithm.hash_algo, "sm3")
        _registered = True


def gm_content_type(oid: str) -> cms.ContentType:
    """A content type that encodes as the GM/T 0010 ``oid`` and reads as its standard name (``data``, ``signed_data``)."""
    return cms.ContentType.load(core.ObjectIdentifier(oid).dump())


def gm_signature_algorithm() -> algos.SignedDigestAlgorithm:
    """GM/T 0010's SM2 signature algorithm identifier (1.2.156.10197.1.301.1)."""
    return algos.SignedDigestAlgorithm({"algorithm": "sm2_gm"})
