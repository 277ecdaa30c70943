"""Checking signatures with independent tools: pyHanko's validator and poppler's pdfsig (NSS)."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import tempfile
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore


def validation_context(root: Path) -> ValidationContext:
    return ValidationContext(trust_roots=[load_cert_from_pemder(str(root))], allow_fetching=False)


def signatures(pdf: bytes, root: Path) -> dict:
    """Field name → pyHanko's PdfSignatureStatus for every signed field (document timestamps aside)."""
    context = validation_context(root)
    reader = PdfFileReader(io.BytesIO(pdf))
    return {sig.field_name: validate_pdf_signature(sig, context, ts_validation_context=context) for sig in reader.embedded_signatures
            if sig.sig_object_type == "/Sig"}


def ades_lta(pdf: bytes, root: Path, field: str = "agency", at: dt.datetime | None = None) -> object:
    """pyHanko's own PAdES-LTA validation (ETSI EN 319 102-1 §5.6.3) of ``field``: the document timestamps as the
    evidence record, the DSS as the only validation data (nothing fetched), revocation data required wherever a
    certificate names a CRL or OCSP location; as of ``at`` (default: now)."""
    import asyncio

    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
    from pyhanko_certvalidator.registry import SimpleTrustManager

    declared = RevocationCheckingRule.CHECK_IF_DECLARED
    spec = SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=[load_cert_from_pemder(str(root))]),
            revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(declared, declared))),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
    )
    reader = PdfFileReader(io.BytesIO(pdf))
    [sig] = [s for s in reader.embedded_signatures if s.field_name == field]
    timing = None if at is None else ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=False)
    return asyncio.run(ades_lta_validation(sig, PdfSignatureValidationSpec(spec), timing_info=timing))


def empty_signature_fields(pdf: bytes) -> list[str]:
    reader = PdfFileReader(io.BytesIO(pdf))
    return [name for name, value, _ref in fields.enumerate_sig_fields(reader, filled_status=False)]


def pdfsig(pdf: bytes, nssdir: Path) -> dict[str, dict[str, str]]:
    """pdfsig's report per signature field (pdfsig exits 0 even for a broken digest: read its words). Document
    timestamps (PAdES B-LTA), which pdfsig does not check ("Signature type: unknown"), are left out: see
    ``document_timestamps``."""
    stamps = set(document_timestamps(pdf))
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        output = subprocess.run(["pdfsig", "-nssdir", f"sql:{nssdir}", handle.name], capture_output=True, text=True, check=True).stdout
    report: dict[str, dict[str, str]] = {}
    for block in re.split(r"^Signature #\d+:\n", output, flags=re.M)[1:]:
        name = re.search(r"Signature Field Name: (.+)", block).group(1).strip()
        entries: dict = dict(re.findall(r"^\s+- ([^:\n]+): (.+)$", block, flags=re.M))
        entries["signed"] = "not signed" not in block
        entries["whole document"] = "- Total document signed" in block
        if name not in stamps:
            report[name] = entries
    return report


def document_timestamps(pdf: bytes) -> list[str]:
    """The fields holding a document timestamp, in signing order."""
    reader = PdfFileReader(io.BytesIO(pdf))
    return [sig.field_name for sig in reader.embedded_signatures if sig.sig_object_type == "/DocTimeStamp"]


def make_nssdb(folder: Path, root: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", "chengnuo-dev-root", "-t", "CT,C,C", "-i", str(root)],
                   check=True, capture_output=True)
    return folder


def applicant_signer(name: str = "陈秀兰") -> signers.SimpleSigner:
    """A citizen's own key, self-signed: not trusted by the service, as an applicant's would be."""
    return self_signed_signer(name)


def self_signed_signer(name: str, organisation: str | None = None, *, rsa_key: bool = False) -> signers.SimpleSigner:
    """A signer whose certificate names ``name`` but chains to nothing the service trusts."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if organisation:
        names = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation), *names]
    subject = x509.Name(names)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
        cert_registry=SimpleCertificateStore(),
    )


def sign_field(pdf: bytes, field: str, signer: signers.SimpleSigner) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name=field), signer=signer, existing_fields_only=True)
    return out.getvalue()
