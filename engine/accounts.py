"""Local accounts: roles, password check with temporary lockout, API tokens.

The web UI asks this module, never the tables, so the rules (how many failures lock an account,
for how long, how tokens are hashed) live in one place and are the same for the UI and the API.

>>> accounts = Accounts(medflow.db, medflow.settings)                        # doctest: +SKIP
>>> accounts.create("ivanova", "секрет-123", "Иванова М. П.", role="applicant")  # doctest: +SKIP
>>> accounts.authenticate("ivanova", "секрет-123").role                       # doctest: +SKIP
'applicant'
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.account_models import STAFF_ROLES, Account, ApiToken
from engine.account_rules import clean_groups, password_problem, profile_errors, username_problem
from engine.config import Settings
from engine.db import Database
from engine.errors import Conflict, EngineError, NotFound, ValidationFailed
from engine.models import AuditEvent

TOKEN_PREFIX = "mf_"
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
# Bounds the memory of the per-process token cache; past it, expired entries are dropped first.
TOKEN_CACHE_ENTRIES = 10_000
_hasher = PasswordHasher()
# Verified against when the user does not exist, so "no such user" takes as long as "wrong password".
_DUMMY_HASH = _hasher.hash("medflow-dummy-password")


class LoginRefused(EngineError):
    code = "login_refused"
    http_status = 401


@dataclass(frozen=True)
class AccountInfo:
    """A detached view of an account: safe to keep in a request after the session is closed."""

    id: int
    username: str
    full_name: str
    email: str | None
    role: str
    groups: tuple[str, ...]
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    password_temporary: bool = False
    # Changes with every new password: a web session made before it no longer matches.
    session_stamp: str = ""

    def can(self, *roles: str) -> bool:
        """Admins can do everything; the others what their role names."""
        return self.role == "admin" or self.role in roles

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "full_name": self.full_name, "email": self.email,
                "role": self.role, "groups": list(self.groups), "active": self.active}


_TOKEN_ACCOUNT = (
    select(ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at, ApiToken.account_id, Account.username,
           Account.full_name, Account.email, Account.role, Account.groups, Account.active, Account.locked_until,
           Account.last_login_at)
    .join(Account, Account.id == ApiToken.account_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def _info(row: Account) -> AccountInfo:
    return AccountInfo(row.id, row.username, row.full_name, row.email, row.role, tuple(row.groups or ()),
                       row.active, _aware(row.locked_until), _aware(row.last_login_at),
                       bool(row.password_temporary), hashlib.sha256(row.password_hash.encode()).hexdigest()[:16])


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts:
    """Accounts and tokens. ``now`` is wall-clock time: lockouts concern people, not the
    simulated process time (which may stand still for days in a demo)."""

    def __init__(self, db: Database, settings: Settings, now: Callable[[], datetime] | None = None,
                 hasher: PasswordHasher | None = None) -> None:
        self.db = db
        # Tests pass a cheap hasher; the default costs ~0.1 s per hash, which is the point.
        self.hasher = hasher or _hasher
        self.max_failures = int(settings.get("web.login_max_failures", 5))
        self.lockout = timedelta(minutes=float(settings.get("web.lockout_minutes", 15)))
        self.temporary_for = timedelta(days=float(settings.get("web.temporary_password_days", 7)))
        self.now = now or (lambda: datetime.now(UTC))
        # A bearer token's account, remembered for a few seconds in this process: the lookup was
        # 4 of an application's ~36 statements and 9% of a web process's CPU under load. The
        # price: a token revoked (or an account deactivated) in another process keeps working
        # here for at most this long. This process forgets at once. 0 turns the cache off.
        self.token_cache_for = timedelta(seconds=float(settings.get("web.token_cache_seconds", 5)))
        self._token_cache: dict[str, tuple[datetime, AccountInfo]] = {}

    # --- managing ------------------------------------------------------------------------

    def create(self, username: str, password: str, full_name: str, role: str = "applicant",
               groups: Sequence[str] = (), email: str | None = None, actor: str = "system",
               temporary: bool = False) -> AccountInfo:
        """A new account; ``temporary``: its password was chosen by someone else (``actor``), and
        the person sets their own at the first login."""
        errors = [{"field": "username", "message": problem, "code": "format"}
                  for problem in [username_problem(username)] if problem]
        errors += profile_errors({"full_name": full_name, "email": email, "role": role, "groups": groups})
        problem = password_problem(password)
        if problem:
            errors.append({"field": "password", "message": problem, "code": "password"})
        if errors:
            raise ValidationFailed("Учётную запись создать нельзя", errors=errors)
        groups, full_name = clean_groups(list(groups)), full_name.strip()
        with self.db.write() as session:
            if session.scalar(select(Account.id).where(Account.username == username)) is not None:
                raise Conflict(f"Пользователь {username} уже существует", username=username)
            row = Account(username=username, full_name=full_name, email=email, role=role, groups=groups,
                          password_hash=self.hasher.hash(password), password_temporary=temporary,
                          password_set_at=self.now(), active=True, failed_logins=0,
                          created_at=self.now())
            session.add(row)
            session.flush()
            self._audit(session, actor, "account_created", None, f"{username} ({role})")
            return _info(row)

    def ensure(self, username: str, password: str, full_name: str, role: str, groups: Sequence[str] = (),
               email: str | None = None) -> tuple[AccountInfo, bool]:
        """Create the account unless it exists (demo seeding is idempotent); True when created."""
        existing = self.find(username)
        if existing is not None:
            return existing, False
        return self.create(username, password, full_name, role, groups, email), True

    def update(self, username: str, changes: dict[str, Any], actor: str = "system") -> AccountInfo:
        """Change any of full_name, email, role and groups; each change is audited with its old
        and new value. Refused by field, changing nothing, when one of them does not pass."""
        unknown = sorted(set(changes) - {"full_name", "email", "role", "groups"})
        errors = [{"field": name, "message": "Это поле изменить нельзя", "code": "readonly"} for name in unknown]
        errors += profile_errors(changes)
        if errors:
            raise ValidationFailed("Учётную запись изменить нельзя", errors=errors)
        if "groups" in changes:
            changes = {**changes, "groups": clean_groups(changes["groups"])}
        if "full_name" in changes:
            changes = {**changes, "full_name": changes["full_name"].strip()}
        with self.db.write() as session:
            row = self._row(session, username)
            for name, value in changes.items():
                before = getattr(row, name)
                if (list(before or ()) if name == "groups" else before) == value:
                    continue
                setattr(row, name, value)
                self._audit(session, actor, f"account_{name}_changed", f"{username}: {_shown(before)}", _shown(value))
            info = _info(row)
        self._token_cache.clear()  # a cached token still carried the old role and groups
        return info

    def set_password(self, username: str, password: str, actor: str = "system", temporary: bool = False) -> None:
        """A new password, which ends the person's web sessions made before it; ``temporary`` as in
        ``create``."""
        problem = password_problem(password)
        if problem:
            raise ValidationFailed(problem, errors=[{"field": "password", "message": problem, "code": "password"}])
        with self.db.write() as session:
            row = self._row(session, username)
            row.password_hash, row.failed_logins, row.locked_until = self.hasher.hash(password), 0, None
            row.password_temporary, row.password_set_at = temporary, self.now()
            self._audit(session, actor, "password_changed", None, username)

    def set_active(self, username: str, active: bool, actor: str = "system") -> None:
        with self.db.write() as session:
            row = self._row(session, username)
            row.active = active
            self._audit(session, actor, "account_enabled" if active else "account_disabled", None, username)
        self._token_cache.clear()

    def find(self, username: str) -> AccountInfo | None:
        with self.db.read() as session:
            row = session.scalar(select(Account).where(Account.username == username))
            return _info(row) if row else None

    def get(self, account_id: int) -> AccountInfo | None:
        with self.db.read() as session:
            row = session.get(Account, account_id)
            return _info(row) if row else None

    def page(self, roles: Sequence[str] = (), limit: int = 200, after: str | None = None) -> list[AccountInfo]:
        """Accounts by name, ``limit`` at a time after ``after`` (the previous page's last name):
        a region's applicants are hundreds of thousands of rows."""
        query = select(Account).order_by(Account.username).limit(limit)
        if roles:
            query = query.where(Account.role.in_(list(roles)))
        if after is not None:
            query = query.where(Account.username > after)
        with self.db.read() as session:
            return [_info(row) for row in session.scalars(query)]

    def staff(self, active_only: bool = False) -> list[AccountInfo]:
        """Everyone who works with applications, by role and name: only the staff's rows (by the
        role index), never the applicants' — 100,000 of them made a task page take 3 s."""
        query = (select(Account).where(Account.role.in_(STAFF_ROLES))
                 .order_by(Account.role, Account.username))
        if active_only:
            query = query.where(Account.active.is_(True))
        with self.db.read() as session:
            return [_info(row) for row in session.scalars(query)]

    def group_members(self, group: str) -> list[AccountInfo]:
        """People a task of ``group`` may be handed over to (read on every task page)."""
        return [person for person in self.staff(active_only=True) if group in person.groups]

    # --- logging in ----------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> AccountInfo:
        """The account, or LoginRefused with a message that does not reveal whether the name exists."""
        with self.db.write() as session:
            # The refusal is raised after the commit: the failure counter must survive it.
            outcome = self._attempt(session, username, password, self.now())
        if isinstance(outcome, LoginRefused):
            raise outcome
        return outcome

    def _attempt(self, session: Session, username: str, password: str, now: datetime) -> AccountInfo | LoginRefused:
        row = session.scalar(select(Account).where(Account.username == username))
        if row is None:
            _verify(_DUMMY_HASH, password)
            self._audit(session, username[:200] or "?", "login_failed", None, "unknown user")
            return LoginRefused("Неверное имя пользователя или пароль")
        locked_until = _aware(row.locked_until)
        if locked_until is not None and locked_until > now:
            self._audit(session, username, "login_refused_locked", None, locked_until.isoformat())
            return LoginRefused(_locked_message(locked_until - now), locked_until=locked_until.isoformat())
        if not _verify(row.password_hash, password):
            row.failed_logins = (row.failed_logins or 0) + 1
            self._audit(session, username, "login_failed", None, str(row.failed_logins))
            if row.failed_logins >= self.max_failures:
                row.locked_until, row.failed_logins = now + self.lockout, 0
                self._audit(session, username, "account_locked", None, row.locked_until.isoformat())
                return LoginRefused(_locked_message(self.lockout), locked_until=row.locked_until.isoformat())
            left = self.max_failures - row.failed_logins
            return LoginRefused(f"Неверное имя пользователя или пароль. Осталось попыток до временной "
                                f"блокировки: {left}")
        if not row.active:
            return LoginRefused("Учётная запись отключена. Обратитесь к администратору")
        set_at = _aware(row.password_set_at)
        if row.password_temporary and set_at is not None and now - set_at > self.temporary_for:
            # Known to two people and never replaced: it must not open the account for ever.
            self._audit(session, username, "login_refused_expired", None, set_at.isoformat())
            return LoginRefused("Выданный пароль больше не действует: его не сменили вовремя. Попросите "
                                "руководителя задать новый")
        row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
        self._audit(session, username, "login_succeeded", None, None)
        return _info(row)

    def record_logout(self, username: str, reason: str = "") -> None:
        with self.db.write() as session:
            self._audit(session, username, "logout", None, reason or None)

    # --- API tokens ----------------------------------------------------------------------

    def issue_token(self, username: str, name: str = "API", actor: str | None = None) -> str:
        """A new token; the plain text is returned once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.write() as session:
            row = self._row(session, username)
            if row.password_temporary:
                # Whoever gave the password could otherwise mint a token that outlives its change.
                raise Conflict("Сначала задайте свой пароль: выданный руководителем пароль временный",
                               username=username)
            session.add(ApiToken(account_id=row.id, name=name[:200], prefix=token[:10], token_hash=_token_hash(token),
                                 created_at=self.now()))
            self._audit(session, actor or username, "token_issued", None, f"{username}: {name}")
        return token

    def tokens(self, username: str) -> list[dict[str, Any]]:
        with self.db.read() as session:
            row = self._row(session, username)
            rows = session.scalars(select(ApiToken).where(ApiToken.account_id == row.id).order_by(ApiToken.id))
            return [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": _aware(t.created_at),
                     "last_used_at": _aware(t.last_used_at), "revoked": t.revoked_at is not None} for t in rows]

    def revoke_token(self, username: str, token_id: int) -> None:
        with self.db.write() as session:
            row = self._row(session, username)
            token = session.get(ApiToken, token_id)
            if token is None or token.account_id != row.id:
                raise NotFound(f"Токен {token_id} не найден")
            token.revoked_at = self.now()
            self._audit(session, username, "token_revoked", None, token.prefix)
        self._token_cache.clear()

    def account_for_token(self, token: str) -> AccountInfo | None:
        """The account a bearer token belongs to. A read: "last used" is written at most once a
        minute per token — a write per API request took the SQLite write lock (and a WAL flush on
        PostgreSQL) for every read of the worklist."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        now = self.now()
        cached = self._token_cache.get(token)
        if cached is not None and now - cached[0] < self.token_cache_for:
            return cached[1]
        with self.db.read_one() as connection:
            # One statement, columns only: this runs before every API request.
            found = connection.execute(_TOKEN_ACCOUNT, {"token_hash": _token_hash(token)}).first()
        if found is None or found.revoked_at is not None or not found.active:
            self._token_cache.pop(token, None)
            return None
        info = AccountInfo(found.account_id, found.username, found.full_name, found.email, found.role,
                           tuple(found.groups or ()), found.active, _aware(found.locked_until),
                           _aware(found.last_login_at))
        if found.last_used_at is None or now - _aware(found.last_used_at) >= TOKEN_TOUCH_EVERY:
            with self.db.write() as session:
                session.execute(update(ApiToken).where(ApiToken.id == found.id).values(last_used_at=now))
        self._remember(token, now, info)
        return info

    def _remember(self, token: str, now: datetime, info: AccountInfo) -> None:
        if self.token_cache_for <= timedelta(0):
            return
        if len(self._token_cache) >= TOKEN_CACHE_ENTRIES:
            # A copy: `medflow serve` answers requests in threads that share this cache.
            expired = [t for t, (at, _) in list(self._token_cache.items()) if now - at >= self.token_cache_for]
            for stale in expired or list(self._token_cache):
                self._token_cache.pop(stale, None)
        self._token_cache[token] = (now, info)

    # --- internals -----------------------------------------------------------------------

    def _row(self, session: Session, username: str) -> Account:
        row = session.scalar(select(Account).where(Account.username == username))
        if row is None:
            raise NotFound(f"Пользователь {username} не найден", username=username)
        return row

    def _audit(self, session: Session, actor: str, action: str, old: str | None, new: str | None) -> None:
        # Instance-less audit events: the security journal lives in the same append-only table.
        session.add(AuditEvent(instance_id=None, at=self.now(), actor=actor, action=action, old=old, new=new))

    def security_events(self, limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
        """The security journal (logins, lockouts, tokens, account changes, substitutions), newest
        first, ``limit`` at a time before ``before_id``: one range of ix_audit_instance, whatever
        the number of applications' events beside it."""
        query = select(AuditEvent).where(AuditEvent.instance_id.is_(None))
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        with self.db.read() as session:
            rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))
            return [{"id": e.id, "at": _aware(e.at), "actor": e.actor, "action": e.action, "old": e.old,
                     "new": e.new} for e in rows]


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = ", ".join(value) or None
    return "—" if value is None else str(value)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _locked_message(left: timedelta) -> str:
    minutes = max(1, int(left.total_seconds() + 59) // 60)
    return (f"Слишком много неудачных попыток входа. Учётная запись временно заблокирована; "
            f"попробуйте через {minutes} мин.")
