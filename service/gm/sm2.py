"""SM2 signatures over SM3 (GB/T 32918, GM/T 0009) with tongsuopy, the one SM2 library of the service.

The distinguishing ID is pinned to GM/T 0009's default, ``1234567812345678``, everywhere: tongsuopy signs and
verifies with it, and ``digest_e`` computes Z_A with it. (OpenSSL 3.0's command line uses an *empty* ID unless given
one, and a signature made under one ID fails under the other: /work/shared/SM2-NOTES.md.)

``digest_e`` is what a signing server or a token that signs a pre-computed digest is given: e = SM3(Z_A ‖ M), with
Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A).
"""

from __future__ import annotations

import hashlib

from asn1crypto import algos, keys
from tongsuopy.crypto import hashes as gm_hashes
from tongsuopy.crypto.asymciphers import ec as gm_ec
from tongsuopy.crypto.exceptions import InvalidSignature
from tongsuopy.crypto.serialization import load_der_public_key

from . import oids

DISTINGUISHING_ID = b"1234567812345678"

# GB/T 32918.5: the SM2 curve's a, b and base point
_A = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC")
_B = bytes.fromhex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
_GX = bytes.fromhex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
_GY = bytes.fromhex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def is_sm2_key(public_key: keys.PublicKeyInfo) -> bool:
    """An ``ec`` public key on the SM2 curve."""
    oids.register()
    try:
        return public_key.algorithm == "ec" and public_key.curve == ("named", "sm2p256v1")
    except (ValueError, KeyError):
        return False


def public_point(public_key: keys.PublicKeyInfo) -> bytes:
    """x ‖ y, 32 bytes each, of an SM2 public key."""
    point = public_key["public_key"].native
    if not (isinstance(point, bytes) and len(point) == 65 and point[0] == 4):
        raise ValueError("not an uncompressed SM2 point")
    return point[1:]


def z_a(public_key: keys.PublicKeyInfo, distinguishing_id: bytes = DISTINGUISHING_ID) -> bytes:
    entl = (len(distinguishing_id) * 8).to_bytes(2, "big")
    return sm3(entl + distinguishing_id + _A + _B + _GX + _GY + public_point(public_key))


def digest_e(public_key: keys.PublicKeyInfo, message: bytes, distinguishing_id: bytes = DISTINGUISHING_ID) -> bytes:
    """e = SM3(Z_A ‖ M): what an SM2 signature over ``message`` signs."""
    return sm3(z_a(public_key, distinguishing_id) + message)


def is_der_signature(signature: bytes) -> bool:
    """A DER SEQUENCE of two positive INTEGERs below the curve order, and nothing after it."""
    try:
        parsed = algos.DSASignature.load(signature, strict=True)
        r, s = parsed["r"].native, parsed["s"].native
    except (ValueError, TypeError):
        return False
    order = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
    return 0 < r < order and 0 < s < order and parsed.dump() == signature


def sign(private_key: gm_ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """The DER signature (r, s) of ``message``, SM3 with the pinned distinguishing ID."""
    return private_key.sign(message, gm_ec.ECDSA(gm_hashes.SM3()))


def verify(public_key: keys.PublicKeyInfo, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` (DER) is an SM2 signature of ``message`` under ``public_key`` with the pinned ID."""
    key = load_der_public_key(public_key.dump())
    try:
        key.verify(signature, message, gm_ec.ECDSA(gm_hashes.SM3()))
    except InvalidSignature:
        return False
    return True
