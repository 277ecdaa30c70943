"""Agencies' keys on PKCS#11 tokens (an HSM, a USB key; SoftHSM2 in tests), signing through pyHanko's PKCS#11 signer.

pyHanko opens the session (``open_pkcs11_session``) and signs (``PKCS11Signer``); this module decides when:

- A session is opened on first use and kept for every later document: loading the module, finding the token and
  logging in cost far more than a signature. One logged-in session per token serves every agency whose key it holds,
  because PKCS#11 login belongs to the application: a second C_Login to the same token fails (USER_ALREADY_LOGGED_IN).
- When the token fails (unplugged, its session gone), the session is dropped and that request fails; the next use,
  or the health probe, opens a new one. A module that does not list a token which came back is re-initialised once
  (C_Finalize, C_Initialize): SoftHSM2, for one, reads its token directory at C_Initialize only. That ends every
  session of that module in this process, so sessions remember the module's generation and are reopened, not failed,
  when it changed; and every PKCS#11 call of a module holds its lock, since C_Finalize must not run beside another call.
- A PIN the token refused is not sent again until the configured PIN changes: tokens count wrong PINs and lock
  themselves, and the health probe alone would otherwise lock one within minutes.

PINs are read when a session is opened and then dropped. They never reach a log line or an error message; neither do
the module's path and the labels, which go to the log only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11
from asn1crypto import x509
from pkcs11 import Attribute, ObjectClass, Session
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.attributes import SignedAttributeProviderSpec
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

from ..agencies import Agency, TokenKey
from ..errors import SigningTokenUnavailable
from .paths import read_passphrase
from .signed_attributes import SigningCertificateOnce

log = logging.getLogger(__name__)


@dataclass
class _Module:
    """A PKCS#11 module as this process uses it. ``generation`` counts its re-initialisations."""

    path: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    generation: int = 0


_modules: dict[str, _Module] = {}
_modules_lock = threading.Lock()


def _module(path: Path) -> _Module:
    """Process-wide, as python-pkcs11 keeps one loaded library per path and the module's login state is the process's."""
    with _modules_lock:
        return _modules.setdefault(str(path), _Module(str(path)))


@dataclass
class _Session:
    session: Session
    generation: int


def _unavailable(agency: Agency, zh: str, en: str) -> SigningTokenUnavailable:
    return SigningTokenUnavailable(f"{agency.name}的签名令牌{zh}", f"the signing token of {agency.name} ({agency.id}) {en}")


def _pin_refused(agency: Agency) -> SigningTokenUnavailable:
    return _unavailable(agency, "拒绝了配置的 PIN（PIN 错误）；PIN 更改前不再尝试",
                        "refused the configured PIN (wrong PIN); it is not tried again until the PIN changes")


def _locked(agency: Agency) -> SigningTokenUnavailable:
    return _unavailable(agency, "已锁定（PIN 错误次数过多），须由管理员解锁", "is locked (too many wrong PINs): an administrator must unlock it")


def _close(session: _Session) -> None:
    try:
        session.session.close()
    except pkcs11.PKCS11Error:
        pass  # the token is gone, and the session with it


class TokenSigner(PKCS11Signer):
    """pyHanko's PKCS#11 signer with the service's error and what depends on the certificate alone computed once
    (the signing-certificate-v2 value, as ``keys.CachedKeySigner`` does for a PKCS#12 key).

    A PKCS#11 failure while signing drops the token's session (``TokenKeys`` reopens it on next use) and is raised as
    SigningTokenUnavailable naming the agency.
    """

    def __init__(self, keys: TokenKeys, agency: Agency, session: _Session, chain: list[x509.Certificate]) -> None:
        token = agency.token
        assert token is not None
        super().__init__(session.session, cert_label=token.cert_label or token.key_label, key_label=token.key_label,
                         ca_chain=chain)
        self.keys = keys
        self.agency = agency
        self.token_label = token.token_label
        self.session_used = session
        self._load_objects()  # the key handle and the certificate, now and once, in the caller's lock
        # An EC key signs a digest the service makes (CKM_ECDSA): every PKCS#11 EC token has that mechanism, where
        # CKM_ECDSA_SHA256 is optional (SoftHSM2 lacks it). RSA keys hash on the token (CKM_SHA256_RSA_PKCS).
        self.use_raw_mechanism = self.signing_cert.public_key.algorithm == "ec"
        self._signing_certificate_v2 = as_signing_certificate_v2(self.signing_cert).dump()

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> SignedAttributeProviderSpec:
        spec = super()._signed_attr_provider_spec(*args, **kwargs)
        return SigningCertificateOnce(spec, self.signing_cert, self._signing_certificate_v2)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return await super().async_sign_raw(data, digest_algorithm, dry_run=True)
        module = self.keys.module_of(self.agency)
        # The thread lock is held across the await: this event loop serves this one signature (sync.run_sync).
        with module.lock:
            if self.session_used.generation != module.generation:
                self.keys.forget(self.agency)
                raise _unavailable(self.agency, "刚被重新初始化，请重试", "was re-initialised meanwhile; retry")
            try:
                return await super().async_sign_raw(data, digest_algorithm)
            except pkcs11.PKCS11Error as exc:
                log.warning("token %r failed while %s signed (%s): dropping its session", self.token_label, self.agency.id,
                            type(exc).__name__)
                self.keys.drop(self.agency, self.session_used)
                raise _unavailable(self.agency, "签名时出错（已拔出或不可用）", "failed while signing (removed or not working)") from exc


class TokenKeys:
    """Agencies' signers on PKCS#11 tokens: one session per token, one signer per agency, both kept."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], _Session] = {}
        self._signers: dict[str, TokenSigner] = {}
        self._refused_pins: dict[tuple[str, str], bytes] = {}  # a salted hash of a PIN the token refused, never the PIN
        self._salt = os.urandom(16)

    @staticmethod
    def _token(agency: Agency) -> TokenKey:
        assert agency.token is not None
        return agency.token

    def module_of(self, agency: Agency) -> _Module:
        return _module(self._token(agency).module)

    def _slot(self, agency: Agency) -> tuple[str, str]:
        token = self._token(agency)
        return str(token.module), token.token_label

    def signer(self, agency: Agency) -> TokenSigner:
        """The agency's signer over a live session, opening one when needed. Raises SigningTokenUnavailable."""
        module = self.module_of(agency)
        with module.lock:
            signer = self._signers.get(agency.id)
            if signer is not None and signer.session_used.generation == module.generation:
                return signer
            session = self._session(agency, module)
            try:
                signer = TokenSigner(self, agency, session, self._chain(agency))
            except pkcs11.PKCS11Error as exc:
                log.warning("token %r has no usable key %r (or certificate) for %s: %s", self._token(agency).token_label,
                            self._token(agency).key_label, agency.id, str(exc) or type(exc).__name__)
                self.drop(agency, session)
                raise _unavailable(agency, "上没有可用的签名密钥或证书", "holds no usable signing key or certificate") from exc
            self._signers[agency.id] = signer
            return signer

    def check(self, agency: Agency) -> None:
        """Can the agency's token sign now: its session answers and the key is on it (no signature is made).
        Raises SigningTokenUnavailable."""
        signer = self.signer(agency)
        module = self.module_of(agency)
        with module.lock:
            try:
                found = list(signer.session_used.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                                                       Attribute.LABEL: self._token(agency).key_label}))
            except pkcs11.PKCS11Error as exc:
                log.warning("token %r of %s does not answer (%s)", self._token(agency).token_label, agency.id, type(exc).__name__)
                self.drop(agency, signer.session_used)
                raise _unavailable(agency, "无响应（已拔出或不可用）", "does not answer (removed or not working)") from exc
            if not found:
                self.drop(agency, signer.session_used)
                raise _unavailable(agency, "上没有可用的签名密钥或证书", "holds no usable signing key or certificate")

    def forget(self, agency: Agency) -> None:
        self._signers.pop(agency.id, None)

    def drop(self, agency: Agency, session: _Session) -> None:
        """Forgets a session that failed, and every signer over it; closes it if it still answers."""
        slot = self._slot(agency)
        if self._sessions.get(slot) is session:
            del self._sessions[slot]
        for agency_id in [a for a, s in self._signers.items() if s.session_used is session]:
            del self._signers[agency_id]
        if session.generation == self.module_of(agency).generation:  # else its handle may be another session's now
            _close(session)

    def close(self) -> None:
        """Closes every session (logging out of the tokens)."""
        for slot, session in list(self._sessions.items()):
            module = _module(Path(slot[0]))
            with module.lock:
                if session.generation == module.generation:
                    _close(session)
        self._sessions.clear()
        self._signers.clear()

    def _chain(self, agency: Agency) -> list[x509.Certificate]:
        try:
            return list(load_certs_from_pemder([str(self._token(agency).chain_file)]))
        except (OSError, ValueError) as exc:
            log.warning("the certificate chain file of %s cannot be read (%s)", agency.id, type(exc).__name__)
            raise _unavailable(agency, "的证书链文件不可读", "has an unreadable certificate chain file") from None

    def _pin(self, agency: Agency) -> str:
        token = self._token(agency)
        if token.pin_env:
            value = os.environ.get(token.pin_env)
            if value is None:
                raise _unavailable(agency, f"的 PIN 未设置（环境变量 {token.pin_env}）", f"has no PIN: {token.pin_env} is not set")
            return value
        assert token.pin_file is not None
        try:
            return read_passphrase(token.pin_file).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            raise _unavailable(agency, "的 PIN 文件不可读", "has an unreadable PIN file") from None

    def _session(self, agency: Agency, module: _Module) -> _Session:
        """The token's live session, or a new one (re-initialising the module once if the token is not listed).
        Called with the module's lock held. Raises SigningTokenUnavailable."""
        slot = self._slot(agency)
        session = self._sessions.get(slot)
        if session is not None and session.generation == module.generation:
            return session
        self._sessions.pop(slot, None)  # from before a re-initialisation: already closed by it
        token = self._token(agency)
        if not token.module.is_file():
            log.warning("PKCS#11 module of %s not found: %s", agency.id, token.module)
            raise _unavailable(agency, "所需的 PKCS#11 模块不存在", "cannot be reached: its PKCS#11 module does not exist")
        pin = self._pin(agency)
        fingerprint = hashlib.sha256(self._salt + pin.encode("utf-8")).digest()
        if self._refused_pins.get(slot) == fingerprint:
            raise _pin_refused(agency)
        try:
            opened = self._open(agency, module, pin)
        except _NotPresent:
            log.warning("no token %r in %s for %s", token.token_label, token.module, agency.id)
            raise _unavailable(agency, "未连接（找不到该令牌）", "is not present") from None
        except (pkcs11.PinIncorrect, pkcs11.PinInvalid, pkcs11.PinLenRange):
            self._refused_pins[slot] = fingerprint
            log.warning("token %r refused the PIN configured for %s; not retried until it changes", token.token_label, agency.id)
            raise _pin_refused(agency) from None
        except (pkcs11.PinLocked, pkcs11.PinExpired):
            log.warning("token %r of %s is locked", token.token_label, agency.id)
            raise _locked(agency) from None
        except pkcs11.PKCS11Error as exc:
            log.warning("PKCS#11 session to token %r of %s cannot be opened: %s", token.token_label, agency.id,
                        str(exc) or type(exc).__name__)
            raise _unavailable(agency, "未连接或不可用", "is not present or not working") from None
        self._refused_pins.pop(slot, None)
        session = self._sessions[slot] = _Session(opened, module.generation)
        return session

    def _open(self, agency: Agency, module: _Module, pin: str) -> Session:
        """pyHanko's session, logged in; after one re-initialisation of the module if the token is not listed.
        Raises _NotPresent, and python-pkcs11's errors (PinIncorrect, PinLocked …)."""
        criteria = TokenCriteria(label=self._token(agency).token_label)
        token = self._listed(module, criteria.label)
        if token is None:
            log.info("token %r not listed by %s: re-initialising the module", criteria.label, module.path)
            pkcs11.lib(module.path).reinitialize()
            module.generation += 1  # every session of the module, of any store in this process, is gone
            token = self._listed(module, criteria.label)
        if token is None:
            raise _NotPresent()
        if token.flags & pkcs11.TokenFlag.USER_PIN_LOCKED:
            raise pkcs11.PinLocked()  # sending a PIN to a locked token changes nothing but its log
        try:
            return open_pkcs11_session(module.path, token_criteria=criteria, user_pin=pin)
        except pkcs11.UserAlreadyLoggedIn:
            # Another session of this process is logged in to this token (PKCS#11 login is per application, not per
            # session): a new session shares that login.
            return open_pkcs11_session(module.path, token_criteria=criteria, user_pin=None)

    @staticmethod
    def _listed(module: _Module, label: str | None) -> pkcs11.Token | None:
        """The module's present token with that label, or None; a slot list or a slot that does not answer counts
        as empty (SoftHSM2 fails C_GetSlotList once a token directory it knew is gone). Raises PKCS11Error when the
        module cannot be loaded."""
        lib = pkcs11.lib(module.path)
        try:
            slots = lib.get_slots(token_present=True)
        except pkcs11.PKCS11Error:
            return None
        for slot in slots:
            try:
                token = slot.get_token()
            except pkcs11.PKCS11Error:
                continue
            if token.label == label:
                return token
        return None


class _NotPresent(Exception):
    """No token with the configured label, even after re-initialising the module."""
