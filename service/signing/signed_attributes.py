"""The signing-certificate-v2 attribute made once per certificate, not once per signature: asn1crypto re-encodes a
value built from other values each time it is nested and dumped (~7 ms per signature, bench/RESULTS.md). Used by
every signer of an agency's key, PKCS#12 file or PKCS#11 token alike, so their signatures carry the same attributes."""

from __future__ import annotations

from collections.abc import Iterator

from asn1crypto import tsp, x509
from pyhanko.sign.attributes import (
    CMSAttributeProvider,
    SignedAttributeProviderSpec,
    SigningCertificateV2Provider,
)


class KnownSigningCertificate(CMSAttributeProvider):
    """The signing-certificate-v2 value pyHanko computed for this signer, kept as DER."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, der: bytes) -> None:
        self.der = der

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self.der)


class SigningCertificateOnce(SignedAttributeProviderSpec):
    """pyHanko's signed attribute providers for a signature, except that the signing-certificate-v2
    value, which depends on the certificate alone, comes from the DER pyHanko made once."""

    def __init__(self, spec: SignedAttributeProviderSpec, cert: x509.Certificate, der: bytes) -> None:
        self.spec = spec
        self.cert = cert
        self.der = der

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Iterator[CMSAttributeProvider]:
        for provider in self.spec.signed_attr_providers(data_digest=data_digest, digest_algorithm=digest_algorithm):
            if type(provider) is SigningCertificateV2Provider and provider.signing_cert is self.cert:
                yield KnownSigningCertificate(self.der)
            else:
                yield provider
