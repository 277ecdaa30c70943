"""People who sign in: clerks, supervisors, administrators. Passwords are hashed with scrypt (salted,
slow); five failed sign-ins lock the account for a quarter of an hour."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, InvalidData, NotFound, TooManyAttempts, Unauthorized
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

    def principal(self) -> Principal:
        agencies = None if self.agency is None else frozenset({self.agency})
        return Principal("user", self.id, self.username, self.role, agencies)


def _row(row) -> User:  # type: ignore[no-untyped-def]
    m = row._mapping
    return User(m["id"], m["username"], m["role"], m["agency"], m["created_at"], m["disabled_at"])


def new_password() -> str:
    return secrets.token_urlsafe(12)


class Users:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def create(self, username: str, role: str, agency: str | None, now: dt.datetime) -> tuple[User, str]:
        """The user and a generated password (to show once). Raises InvalidData or Conflict."""
        errors: dict[str, list[str]] = {}
        if not _USERNAME.match(username):
            errors["username"] = ["用户名须为 2–64 个小写字母、数字或 ._- / the user name must be 2–64 lower-case letters, digits or ._-"]
        if role not in ROLES:
            errors["role"] = [f"角色只能是 {'、'.join(ROLES)} / the role must be one of {', '.join(ROLES)}"]
        elif role != "admin" and not agency:
            errors["agency"] = ["窗口人员须属于一个行政机关 / clerks and supervisors belong to an agency"]
        if errors:
            raise InvalidData(errors)
        password = new_password()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(users).values(
                    id=str(uuid.uuid4()), username=username, password_hash=generate_password_hash(password, method="scrypt"),
                    role=role, agency=agency if role != "admin" else None, created_at=now, failed_logins=0))
        except IntegrityError:
            raise Conflict(f"用户名 {username} 已存在", f"the user name {username} is taken", code="user_exists") from None
        return self.get(username), password

    def reset_password(self, username: str) -> str:
        password = new_password()
        with self.engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.username == username).values(
                password_hash=generate_password_hash(password, method="scrypt"), failed_logins=0, locked_until=None))
        if done.rowcount == 0:
            raise NotFound(f"用户 {username} 不存在", f"there is no user {username}", code="user_not_found")
        return password

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
        """Raises TooManyAttempts while locked, Unauthorized for a wrong name or password."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = int((row.locked_until - now).total_seconds()) + 1
            raise TooManyAttempts("登录失败次数过多，账户已临时锁定，请稍后再试",
                                  "too many failed sign-ins: the account is locked for a while", retry_after=wait)
        good = check_password_hash(row.password_hash if row else _DUMMY_HASH, password)
        if row is None or not good or row.disabled_at is not None:
            if row is not None:
                failures = row.failed_logins + 1
                locked = now + LOCK if failures >= MAX_FAILURES else None
                with self.engine.begin() as conn:
                    conn.execute(update(users).where(users.c.id == row.id).values(
                        failed_logins=0 if locked else failures, locked_until=locked))
            raise Unauthorized("用户名或密码不正确", "wrong user name or password", code="bad_credentials")
        if row.failed_logins:
            with self.engine.begin() as conn:
                conn.execute(update(users).where(users.c.id == row.id).values(failed_logins=0, locked_until=None))
        return _row(row)
