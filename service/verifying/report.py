"""The verification report of DESIGN.md, and its verdict — decided here, once, from the signature
findings and the registry's record.

valid          the issuing agency's certification is intact and chains to a trusted root; the registry
               issued exactly this revision and has not voided it; nothing after issue goes beyond
               signing the prepared fields; every later signature is intact.
invalid        anything forged, altered, added or voided.
indeterminate  the service cannot decide (a document this registry never issued, an untrusted chain).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..forms import CATALOGUE
from ..masking import mask_id_number
from ..registry.documents import ARCHIVE, DocumentRecord, RevisionRecord
from ..signing.issuance import EVENT_UNIT, STAFF_UNIT
from .analysis import PdfAnalysis, SignatureFinding

VALID, INVALID, INDETERMINATE = "valid", "invalid", "indeterminate"
# pyHanko's levels under permitted_changes.ISSUED_DOCUMENT_POLICY: there, "lta_updates" is only the signing
# tool's /ModDate and /Producer, validation data and the streams that carry an update; any other metadata
# change is "other".
ALLOWED_AFTER_ISSUE = {"none", "lta_updates", "form_filling"}
METADATA_NAMES = {"/Title": "标题", "/Subject": "主题", "/Author": "作者", "/Keywords": "关键词", "/Creator": "创建工具",
                  "/CreationDate": "创建时间", "/Trapped": "陷印"}


@dataclass(frozen=True)
class Reason:
    zh: str
    en: str
    severity: str  # "invalid" | "indeterminate" | "info"

    def text(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class SignatureReport:
    field: str
    role: str  # the label the form prints for this party, or 签发机关
    signer: str
    intact: bool
    trusted: bool
    signed_at: str | None
    timestamp: str | None
    coverage: str
    modifications: str | None
    certification: bool
    development_timestamp: bool = False  # the timestamp comes from the service's development PKI: it proves nothing
    party: str | None = None  # the form's role for this field (applicant, handler …); None for the agency
    kind: str = "other"  # agency | staff | event | other (a certificate this service did not issue to a person)
    signer_id: str | None = None  # the party's ID number as the registry holds it, masked
    level: str | None = None  # PAdES baseline level: B-B | B-T | B-LT | B-LTA
    validation_time: str | None = None  # the moment its chain was validated as of (its trusted timestamp's)
    revoked_at: str | None = None  # when the signer's certificate was revoked, where known; later than the signature if valid
    algorithm: str | None = None  # sm2-sm3 | rsa-sha256 | ecdsa-sha256 | …, as the signature names it


@dataclass(frozen=True)
class Completeness:
    complete: bool  # every party the document requires has signed this copy
    awaiting: tuple[str, ...]  # the labels of those who have not
    newer_revision: bool  # the registry holds a later revision than this copy


@dataclass(frozen=True)
class DocumentInfo:
    registered: bool
    id: str | None = None
    form: str | None = None
    form_title: str | None = None
    serial: str | None = None
    number: str | None = None
    agency: str | None = None
    issued_at: str | None = None
    status: str | None = None
    voided_at: str | None = None
    void_reason: str | None = None


@dataclass(frozen=True)
class VerificationReport:
    verdict: str
    reasons: tuple[Reason, ...]
    document: DocumentInfo
    signatures: tuple[SignatureReport, ...]
    changes_since_issue: str  # none | form_filling_and_signing | disallowed
    checked_at: str = field(default="")
    completeness: Completeness | None = None  # for a document this registry issued
    level: str | None = None  # the issuing agency's signature's PAdES level


class Compromise(Protocol):
    """A key compromise the service recorded (``python -m service key compromise``): signatures from ``since`` on are void."""

    since: dt.datetime


def _role(record: DocumentRecord | None, finding: SignatureFinding) -> str:
    if finding.certification:
        return "签发机关 / issuing agency"
    spec = CATALOGUE.get(record.form) if record else None
    for party in spec.signers if spec else ():
        if party.role == finding.field:
            return party.label
    return finding.field


def _iso(value: dt.datetime | None, zone: dt.tzinfo | None) -> str | None:
    return value.astimezone(zone).isoformat(timespec="seconds") if value else None


def _kind(finding: SignatureFinding) -> str:
    if finding.certification:
        return "agency"
    return "staff" if STAFF_UNIT in finding.signer_units else "event" if EVENT_UNIT in finding.signer_units else "other"


def _party_id(record: DocumentRecord | None, role: str) -> str | None:
    """The masked ID number of the party ``role`` from the document's data (the applicant's, the proxy's …)."""
    if record is None:
        return None
    block = record.data.get({"subject": "applicant"}.get(role, role))
    number = block.get("id_number") if isinstance(block, Mapping) else None
    return mask_id_number(number) if isinstance(number, str) else None


def _completeness(analysis: PdfAnalysis, record: DocumentRecord, revisions: Sequence[RevisionRecord], copy_sha256: str | None,
                  later: Sequence[SignatureFinding]) -> Completeness:
    spec = CATALOGUE.get(record.form)
    signed_here = {f.field for f in later if f.intact}
    awaiting = tuple(p.label for p in (spec.signers if spec else ()) if p.present(record.data) and p.role not in signed_here)
    same = next((r for r in revisions if r.sha256 == copy_sha256), None)
    signed = sum(1 for r in revisions if r.number > 0 and r.kind != ARCHIVE)  # revisions a party signed
    newer = same.number < record.revision if same is not None else signed > len(later)
    return Completeness(not awaiting, awaiting, newer)


def _when(value: str | dt.datetime, zone: dt.tzinfo | None) -> str:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class _Revocation:
    since: dt.datetime  # the earliest: an embedded CRL's revocation date or a recorded compromise's ``since``
    compromised: bool  # the service has a compromise of this certificate on record


def _revocation(finding: SignatureFinding, compromise_of: Callable[[str], Compromise | None]) -> _Revocation | None:
    """When the signer's certificate stopped being good, as far as the file's data and the registry know."""
    known = [dt.datetime.fromisoformat(finding.revoked_at)] if finding.revoked_at else []
    compromise = compromise_of(finding.signer_sha256) if finding.signer_sha256 else None
    if compromise is not None:
        known.append(compromise.since)
    return _Revocation(min(known), compromise is not None) if known else None


def _revocation_reasons(finding: SignatureFinding, revocation: _Revocation | None, zone: dt.tzinfo | None) -> list[Reason]:
    """Whether the signer's key was revoked, or reported compromised, before the signature's proven time or after.
    A signature without a trusted timestamp has no proven time: it counts as made after."""
    if revocation is None:
        return []
    since = revocation.since
    signed = dt.datetime.fromisoformat(finding.timestamp) if finding.timestamp and finding.timestamp_trusted else None
    what = "报告泄露并吊销" if revocation.compromised else "吊销"
    what_en = "reported compromised and revoked" if revocation.compromised else "revoked"
    if signed is None or signed >= since:
        at = f"签名时间 {_when(signed, zone)}" if signed else "签名没有可信时间戳，不能证明签署早于此时"
        at_en = f"it was signed at {_when(signed, zone)}" if signed else "it has no trusted timestamp to prove it was signed before"
        return [Reason(f"{finding.field} 的签名证书（{finding.signer}）已于 {_when(since, zone)} 起{what}，{at}：签名无效",
                       f"the certificate of {finding.field} ({finding.signer}) was {what_en} as of {_when(since, zone)}, and {at_en}: the signature is void",
                       INVALID)]
    return [Reason(f"{finding.field} 的签名证书（{finding.signer}）后来于 {_when(since, zone)} 起{what}；此签名的时间 {_when(signed, zone)} 早于此，仍然有效",
                   f"the certificate of {finding.field} ({finding.signer}) was later {what_en} as of {_when(since, zone)}; this signature, made at "
                   f"{_when(signed, zone)}, predates it and stays valid", "info")]


def _lifetime_reasons(analysis: PdfAnalysis, certification: SignatureFinding, now: dt.datetime) -> list[Reason]:
    """What a verification years later should say: the certificate has expired since (the signature is checked as of
    its timestamp, with the data the file carries), and whether the archive timestamp was kept up."""
    reasons = []
    expiry = dt.datetime.fromisoformat(certification.signer_not_after) if certification.signer_not_after else None
    if expiry is not None and expiry < now and certification.validation_time and certification.level in ("B-LT", "B-LTA"):
        reasons.append(Reason(
            f"签发机关的签名证书已于 {_when(expiry, now.tzinfo)} 过期；签名按其可信时间戳时间 {_when(certification.validation_time, now.tzinfo)} "
            f"以文件内嵌的验证数据验证（{certification.level}）",
            f"the agency's certificate expired on {_when(expiry, now.tzinfo)}; the signature was validated as of its trusted timestamp, "
            f"{_when(certification.validation_time, now.tzinfo)}, with the validation data the file carries ({certification.level})", "info"))
    last = analysis.timestamps[-1] if analysis.timestamps else None
    if last is not None and last.tsa_not_after and dt.datetime.fromisoformat(last.tsa_not_after) < now:
        reasons.append(Reason(
            f"最后一个文档时间戳的证书已于 {_when(last.tsa_not_after, now.tzinfo)} 过期，此后未续期（python -m service ltv renew）",
            f"the certificate of the last document timestamp expired on {_when(last.tsa_not_after, now.tzinfo)} and the archive was not "
            "renewed since (python -m service ltv renew)", "info"))
    return reasons


def _only_renewed_since(revisions: Sequence[RevisionRecord], copy_sha256: str | None) -> bool:
    """Whether every revision after the one this copy is only adds an archival timestamp (``ltv renew``)."""
    same = next((r for r in revisions if r.sha256 == copy_sha256), None)
    return same is not None and all(r.kind == ARCHIVE for r in revisions if r.number > same.number)


def build_report(
    analysis: PdfAnalysis, record: DocumentRecord | None, agency_name: str | None, now: dt.datetime,
    development_tsas: frozenset[str] = frozenset(), revisions: Sequence[RevisionRecord] = (), copy_sha256: str | None = None,
    compromise_of: Callable[[str], Compromise | None] = lambda _sha256: None,
) -> VerificationReport:
    """``development_tsas``: SHA-256 of the development PKI's TSA certificates; a timestamp they signed
    is reported as proving nothing about the time of signing. ``compromise_of``: the recorded compromise of a
    certificate (by its SHA-256), if any."""
    reasons: list[Reason] = []

    def add(zh: str, en: str, severity: str) -> None:
        reasons.append(Reason(zh, en, severity))

    certification = next((f for f in analysis.signatures if f.certification), None)
    revoked = {id(f): _revocation(f, compromise_of) for f in analysis.signatures}  # one registry lookup per signature
    later = [f for f in analysis.signatures if f is not certification and certification and f.revision > certification.revision]
    stray = [f for f in analysis.signatures if f is not certification and f not in later]
    changes = "none"

    for name in analysis.unreadable:
        add(f"签名域 {name} 中的签名无法读取（签名结构被破坏或伪造）", f"the signature in {name} cannot be read (its structure is broken or forged)", INVALID)
    if not analysis.signatures and not analysis.unreadable:
        add("文件中没有任何数字签名，不是本服务签发的文书", "the file carries no digital signature: it is not a document this service issued", INVALID)
    elif certification is None:
        if analysis.signatures:
            add("文件中没有签发机关的认证签名", "the file has no certification signature of an issuing agency", INVALID)
    else:
        if certification.error or not certification.intact or not certification.valid:
            add("签发机关的签名与文件内容不符：文件在签名后被篡改，或签名取自其他文件",
                "the issuing agency's signature does not match the content: the file was altered after signing, or the signature comes from another file", INVALID)
        if certification.coverage not in ("entire_file", "entire_revision"):
            add("签名未完整覆盖所签版本，文件结构异常（可能为签名包装攻击）",
                "the signature does not cover its whole revision: the file's structure was manipulated (signature wrapping)", INVALID)
        revocation = _revocation_reasons(certification, revoked[id(certification)], now.tzinfo) if certification.intact else []
        reasons.extend(revocation)
        if certification.intact and not certification.trusted and not any(r.severity == INVALID for r in revocation):
            add(f"签名证书（{certification.signer}）不能追溯到受信任的根证书",
                f"the signing certificate ({certification.signer}) does not chain to a trusted root", INDETERMINATE)
        if certification.intact and not certification.timestamp:
            add("签名没有有效的可信时间戳", "the signature carries no valid trusted timestamp", INDETERMINATE)
        elif certification.intact and not certification.cert_valid_at_signing:
            add("签名时签名证书不在有效期内", "the signing certificate was not valid at the time of signing", INVALID)
        if later or stray:
            changes = "form_filling_and_signing"
        if analysis.metadata_changed:
            changes = "disallowed"
            names = "、".join(f"{METADATA_NAMES.get(key, 'XMP 元数据' if key.startswith('XMP') else '文档信息')}（{key}）"
                             for key in analysis.metadata_changed)
            add(f"签发后文档元数据被改动：{names}；签署时只允许签署工具更新修改时间和生成工具",
                f"the document's metadata was changed after issue: {', '.join(analysis.metadata_changed)}; "
                "signing may only update the modification date and the producer", INVALID)
        if certification.modifications not in ALLOWED_AFTER_ISSUE or certification.docmdp_ok is False:
            changes = "disallowed"
            add("签发后文件被改动（增加、修改内容或批注），超出签署预留签名域的许可范围",
                "the file was changed after issue (content or annotations added or altered) beyond signing the prepared fields", INVALID)
        archival = [t for t in analysis.timestamps if t.revision > certification.revision]
        for stamp in analysis.timestamps:
            if stamp not in archival:
                add(f"签名域 {stamp.field} 中的文档时间戳早于签发机关的签名，不应存在",
                    f"the document timestamp in {stamp.field} predates the issuing agency's signature", INVALID)
            elif stamp.error or not stamp.intact or not stamp.valid or stamp.coverage not in ("entire_file", "entire_revision"):
                add(f"{stamp.field} 中的文档时间戳已损坏或与内容不符", f"the document timestamp in {stamp.field} is broken or does not match", INVALID)
            elif not stamp.invisible:
                add(f"{stamp.field} 中的文档时间戳带有可见的外观，不是本服务加盖的", f"the document timestamp in {stamp.field} has a visible appearance: "
                    "this service adds none", INVALID)
            elif not stamp.trusted:
                add(f"{stamp.field} 中的文档时间戳来自不受信任的时间戳服务", f"the document timestamp in {stamp.field} comes from an untrusted TSA", "info")
        if certification.intact and certification.valid:
            reasons.extend(_lifetime_reasons(analysis, certification, now))
        # a document timestamp after issue (PAdES B-LTA) adds a field of its own: validation data, not a signature
        archival_fields = {t.field for t in archival if t.invisible}
        new_fields = sorted(set(analysis.fields_now) - set(analysis.fields_certified) - archival_fields)
        if new_fields:
            changes = "disallowed"
            add(f"签发后新增了签名域：{'、'.join(new_fields)}", f"signature fields were added after issue: {', '.join(new_fields)}", INVALID)
        for finding in stray:
            changes = "disallowed"
            add(f"签名域 {finding.field} 的签名早于或等同于签发机关的签名，不应存在",
                f"the signature in {finding.field} is not a later signature of a prepared field", INVALID)
        for finding in later:
            if finding.error or not finding.intact or not finding.valid:
                add(f"{finding.field} 中的后续签名已损坏或与内容不符", f"the later signature in {finding.field} is broken or does not match", INVALID)
            elif finding.field not in analysis.fields_certified:
                add(f"{finding.field} 不是签发时预留的签名域", f"{finding.field} is not a signature field prepared at issue", INVALID)
            elif revocation := _revocation_reasons(finding, revoked[id(finding)], now.tzinfo):
                reasons.extend(revocation)
            elif finding.trusted:
                add(f"{finding.field} 中有 {finding.signer} 的签名，证书受信任", f"{finding.field} is signed by {finding.signer}, with a trusted certificate", "info")
            else:
                add(f"{finding.field} 中有 {finding.signer} 的签名，但其证书不是由受信任的机构签发；这不影响签发机关文书本身的真实性",
                    f"{finding.field} is signed by {finding.signer}, whose certificate is not from a trusted authority; "
                    "this does not make the agency's document less authentic", "info")

    document = DocumentInfo(registered=False, serial=analysis.serial)
    if certification is not None and certification.intact:
        if analysis.serial is None:
            add("签名中没有本服务的登记编号", "the signature carries no registry serial of this service", INDETERMINATE)
        elif record is None:
            add(f"本服务的登记簿中没有登记编号为 {analysis.serial} 的文书", f"this registry never issued a document with serial {analysis.serial}", INDETERMINATE)
        else:
            spec = CATALOGUE.get(record.form)
            document = DocumentInfo(
                registered=True, id=record.id, form=record.form, form_title=spec.title if spec else record.form,
                serial=record.serial, number=record.number, agency=agency_name, issued_at=_iso(record.issued_at, now.tzinfo),
                status="voided" if record.status == "voided" else "issued", voided_at=_iso(record.voided_at, now.tzinfo), void_reason=record.void_reason,
            )
            if record.status == "voided":
                when = record.voided_at.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M") if record.voided_at else "?"
                add(f"此文书已于 {when} 作废，原因：{record.void_reason or '未说明'}",
                    f"this document was voided on {when}; reason: {record.void_reason or 'not given'}", INVALID)
            elif not record.issued or record.sha256 not in (analysis.issued_sha256 or (analysis.certified_sha256,)):
                add("签名版本与登记簿中签发的文书不一致（可能为伪造）",
                    "the signed revision differs from the document the registry issued (possibly forged)", INVALID)

    developmental = [f for f in analysis.signatures if f.timestamp and f.timestamp_tsa_sha256 in development_tsas]
    for finding in developmental:
        add(f"{finding.field} 的时间戳来自本服务开发环境的测试时间戳服务，不能独立证明签署时间",
            f"the timestamp of {finding.field} comes from the service's development TSA: it proves nothing independent "
            "about the time of signing", "info")

    completeness = None
    if document.registered and record is not None:
        completeness = _completeness(analysis, record, revisions, copy_sha256, later)
        if completeness.awaiting:
            add(f"此副本尚待签署：{'、'.join(completeness.awaiting)}", f"this copy awaits the signature of: {', '.join(completeness.awaiting)}", "info")
        if completeness.newer_revision and _only_renewed_since(revisions, copy_sha256):
            add("登记簿中有此文书续加了存档时间戳的版本（内容相同，可验证的期限更长）",
                "the registry holds this document with a renewed archival timestamp (the same content, verifiable for longer)", "info")
        elif completeness.newer_revision:
            add("登记簿中有此文书更新的版本（其后又有签署），请向签发机关索取最新版本",
                "the registry holds a newer revision of this document (signed since): ask the agency for the latest", "info")

    severities = {reason.severity for reason in reasons}
    verdict = INVALID if INVALID in severities else INDETERMINATE if INDETERMINATE in severities else VALID
    if verdict == VALID:
        since = "签发后未被改动" if changes == "none" else "签发后仅有签署方在预留位置的签署"
        since_en = "not altered since" if changes == "none" else "since then only signed by its parties in the prepared fields"
        reasons.insert(0, Reason(
            f"真实有效：{document.agency or ''}签发的{document.form_title or '文书'}（登记编号 {document.serial}），{since}",
            f"authentic: issued by {document.agency or 'the agency'} (serial {document.serial}), {since_en}", "info"))
    signatures = tuple(
        SignatureReport(field=f.field, role=_role(record, f), signer=f.signer, intact=f.intact, trusted=f.trusted,
                        signed_at=f.signed_at, timestamp=f.timestamp, coverage=f.coverage, modifications=f.modifications,
                        certification=f.certification, development_timestamp=f in developmental,
                        party=None if f.certification else f.field, kind=_kind(f),
                        signer_id=None if f.certification or _kind(f) == "staff" else _party_id(record, f.field),
                        level=f.level, validation_time=_iso(dt.datetime.fromisoformat(f.validation_time), now.tzinfo) if f.validation_time else None,
                        revoked_at=revoked[id(f)].since.isoformat(timespec="seconds") if revoked[id(f)] else None,
                        algorithm=f.algorithm)
        for f in analysis.signatures
    )
    return VerificationReport(verdict, tuple(reasons), document, signatures, changes, checked_at=now.isoformat(timespec="seconds"),
                              completeness=completeness, level=certification.level if certification else None)

