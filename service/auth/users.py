"""People who sign in: clerks, supervisors, administrators. Passwords are hashed with scrypt (salted,
slow); five failed sign-ins in a row lock the account for a quarter of an hour.

A refused sign-in looks the same whatever the cause (no such user, wrong password, locked, disabled):
the same answer after the same work, so that user names cannot be told from the answers. Counting
failures is one atomic UPDATE, so that guesses sent in parallel are all counted."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, and_, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, InvalidData, NotFound, Unauthorized
from ..registry.tables import users
from .principal import ROLES, Principal

MAX_FAILURES = 5
LOCK = dt.timedelta(minutes=15)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str
    agency: str | None
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    display_name: str  # the name they sign with
    has_certificate: bool  # their own signing certificate exists

    def principal(self) -> Principal:
        agencies = None if self.agency is None else frozenset({self.agency})
        return Principal("user", self.id, self.username, self.role, agencies)


def _row(row) -> User:  # type: ignore[no-untyped-def]
    m = row._mapping
    return User(m["id"], m["username"], m["role"], m["agency"], m["created_at"], m["disabled_at"],
                m["display_name"] or m["username"], m["signing_cert"] is not None)


@dataclass(frozen=True)
class SigningCredentials:
    certificate: str  # PEM
    encrypted_key: str  # PEM, PKCS#8, encrypted with the user's password


def new_password() -> str:
    return secrets.token_urlsafe(12)


class Users:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def create(self, username: str, role: str, agency: str | None, now: dt.datetime, display_name: str | None = None) -> tuple[User, str]:
        """The user and a generated password (to show once). Raises InvalidData or Conflict."""
        errors: dict[str, list[str]] = {}
        if not _USERNAME.match(username):
            errors["username"] = ["用户名须为 2–64 个小写字母、数字或 ._- / the user name must be 2–64 lower-case letters, digits or ._-"]
        if role not in ROLES:
            errors["role"] = [f"角色只能是 {'、'.join(ROLES)} / the role must be one of {', '.join(ROLES)}"]
        elif role != "admin" and not agency:
            errors["agency"] = ["窗口人员须属于一个行政机关 / clerks and supervisors belong to an agency"]
        if display_name is not None and not 1 <= len(display_name.strip()) <= 50:
            errors["display_name"] = ["姓名须为 1–50 个字符 / the name must be 1–50 characters"]
        if errors:
            raise InvalidData(errors)
        password = new_password()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(users).values(
                    id=str(uuid.uuid4()), username=username, password_hash=generate_password_hash(password, method="scrypt"),
                    role=role, agency=agency if role != "admin" else None, created_at=now, failed_logins=0,
                    display_name=display_name.strip() if display_name else None))
        except IntegrityError:
            raise Conflict(f"用户名 {username} 已存在", f"the user name {username} is taken", code="user_exists") from None
        return self.get(username), password

    def reset_password(self, username: str) -> str:
        password = new_password()
        with self.engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.username == username).values(
                password_hash=generate_password_hash(password, method="scrypt"), failed_logins=0, locked_until=None,
                signing_cert=None, signing_key=None))  # the key was encrypted with the old password: a new one is issued
        if done.rowcount == 0:
            raise NotFound(f"用户 {username} 不存在", f"there is no user {username}", code="user_not_found")
        return password

    def set_credentials(self, user_id: str, credentials: SigningCredentials) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(signing_cert=credentials.certificate,
                                                                          signing_key=credentials.encrypted_key))

    def credentials(self, user_id: str) -> SigningCredentials | None:
        """The user's certificate and encrypted key, for signing (never for an answer)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users.c.signing_cert, users.c.signing_key).where(users.c.id == user_id)).first()
        return SigningCredentials(row.signing_cert, row.signing_key) if row and row.signing_cert and row.signing_key else None

    def set_signature_image(self, user_id: str, png: bytes) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(signature_image=png))

    def signature_image(self, user_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            return conn.execute(select(users.c.signature_image).where(users.c.id == user_id)).scalar()

    def get(self, username: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise NotFound(f"用户 {username} 不存在", f"there is no user {username}", code="user_not_found")
        return _row(row)

    def by_id(self, user_id: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return _row(row) if row and row.disabled_at is None else None

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def authenticate(self, username: str, password: str, now: dt.datetime) -> User:
        """Raises SignInRefused, the same for a wrong name or password, a locked and a disabled account."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        good = check_password_hash(row.password_hash if row else _DUMMY_HASH, password)
        if row is None:
            raise SignInRefused("unknown_user")
        if good and row.disabled_at is None:
            with self.engine.begin() as conn:
                unlocked = conn.execute(update(users).where(
                    users.c.id == row.id, or_(users.c.locked_until.is_(None), users.c.locked_until <= now),
                ).values(failed_logins=0, locked_until=None))
            if unlocked.rowcount == 1:
                return _row(row)
            raise SignInRefused("locked")
        locked = self._count_failure(row.id, now)
        raise SignInRefused("disabled" if row.disabled_at is not None else "locked" if locked else "wrong_password")

    def _count_failure(self, user_id: str, now: dt.datetime) -> bool:
        """One more failure, counted in the database (so parallel guesses all count); True if the account is now locked.
        A lock that has run out starts a new count; a lock in force is not extended."""
        expired = and_(users.c.locked_until.is_not(None), users.c.locked_until <= now)
        in_force = and_(users.c.locked_until.is_not(None), users.c.locked_until > now)
        failures = case((expired, 1), else_=users.c.failed_logins + 1)
        with self.engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(
                failed_logins=failures,
                locked_until=case((in_force, users.c.locked_until), (failures >= MAX_FAILURES, now + LOCK), else_=None),
            ))
            locked_until = conn.execute(select(users.c.locked_until).where(users.c.id == user_id)).scalar()
        return locked_until is not None and locked_until > now


class SignInRefused(Unauthorized):
    """A refused sign-in. ``cause`` is for the audit trail only; the caller sees one message for all."""

    code = "bad_credentials"

    def __init__(self, cause: str) -> None:
        super().__init__(f"用户名或密码不正确；连续失败 {MAX_FAILURES} 次后账户将锁定 {LOCK.seconds // 60} 分钟",
                         f"wrong user name or password; after {MAX_FAILURES} failures in a row an account is locked "
                         f"for {LOCK.seconds // 60} minutes")
        self.cause = cause
