"""SM2 signatures for pyhanko-certvalidator and pyHanko: ``ValidationContext(signature_validator=GM_VALIDATOR)``.

pyhanko-certvalidator checks every signature it meets through its context's signature validator: certificates of a
chain, CRLs, OCSP responses, and pyHanko the SignerInfo of a CMS container. Its default one goes to pyca/cryptography,
which has no SM2 (it raises ``UnsupportedAlgorithm``, an exception, not a status). This one checks SM2 with SM3 and
the pinned distinguishing ID (``sm2.py``) and leaves every other algorithm to the default, so one context validates
RSA, ECDSA and SM2 chains alike.
"""

from __future__ import annotations

from asn1crypto import algos
from asn1crypto.keys import PublicKeyInfo
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from . import oids, sm2


class GmSignatureValidator(DefaultSignatureValidator):
    """SM2-with-SM3 (either OID), else pyhanko-certvalidator's default validation."""

    def __init__(self) -> None:
        oids.register()

    def validate_signature(self, signature: bytes, signed_data: bytes, public_key_info: PublicKeyInfo,
                           signature_algorithm: algos.SignedDigestAlgorithm,
                           context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT) -> None:
        """Raises cryptography's InvalidSignature, or AlgorithmNotSupported for an SM2 key used with another algorithm
        (or the reverse), or for a pre-hashed payload (an SM2 signature covers Z_A, which a plain digest lacks)."""
        try:
            mechanism = signature_algorithm.signature_algo
        except ValueError:
            mechanism = None
        sm2_key = sm2.is_sm2_key(public_key_info)
        if mechanism != "sm2" and not sm2_key:
            super().validate_signature(signature, signed_data, public_key_info, signature_algorithm, context)
            return
        if mechanism != "sm2" or not sm2_key:
            raise AlgorithmNotSupported("an SM2 key signs with SM2-with-SM3 only, and SM2-with-SM3 needs an SM2 key")
        if context.prehashed:
            raise AlgorithmNotSupported("an SM2 signature cannot be checked over a pre-computed digest")
        if not sm2.verify(public_key_info, signature, signed_data):
            raise InvalidSignature()


GM_VALIDATOR = GmSignatureValidator()
