"""Tables of local accounts: people who log in to the web UI and the API tokens of scripts.

Passwords and tokens are stored only as hashes (argon2 for passwords; SHA-256 for tokens, which
are long random strings, so a slow hash adds nothing but latency on every API call).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId

ROLES = ("applicant", "operator", "analyst", "supervisor", "admin")
# Everyone who works with applications rather than files them.
STAFF_ROLES = ROLES[1:]


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(300))
    # applicant | operator | analyst | supervisor | admin
    role: Mapped[str] = mapped_column(String(20), index=True)
    # Candidate groups of the worklist (operators; supervisors may have some too).
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Given by someone else (a new account, a reset): good for one thing only, setting one's own.
    password_temporary: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_set_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The first characters, shown in lists so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]



class LoginAttempt(Base):
    """Login attempts per client address and time window, counted in the database so that every
    web process of every server enforces one limit (a per-process count multiplied it by their
    number)."""

    __tablename__ = "login_attempts"
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Start of the window, in whole windows since the epoch (wall-clock time).
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer)


class Substitution(Base):
    """While ``absent`` is away (``starts_on``..``ends_on``, whole days in the engine's time zone),
    ``deputy`` works their groups' queues and the tasks assigned to them (engine/substitutions.py)."""

    __tablename__ = "substitutions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    absent: Mapped[str] = mapped_column(String(100))
    deputy: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    cancelled_by: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None]
    # Who a person stands in for today, and who stands in for them: a worklist request and a
    # claim ask one of these; ends_on first skips the past ones, which only grow.
    __table_args__ = (Index("ix_substitutions_deputy", "deputy", "ends_on"),
                      Index("ix_substitutions_absent", "absent", "ends_on"))


ACCOUNT_TABLES = [Account.__table__, ApiToken.__table__, LoginAttempt.__table__, Substitution.__table__]
