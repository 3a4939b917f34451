"""Substitutions (замещение): while an operator is away, a named deputy does their work.

From ``starts_on`` to ``ends_on`` (whole days in the engine's time zone) the deputy sees the absent
person's groups in the worklist and the tasks assigned to them, and may claim, release and complete
those tasks; the audit log says whom they acted for. Deadlines keep running in working days while
someone is on leave, so a task left with an absent operator is what this prevents.

Rules that keep the picture simple enough to trust: a person has at most one deputy at a time, a
deputy is not away themselves during the period, and someone who stands in for another cannot be
away during it (no chains to follow). The checks and the insert run under one lock: SQLite's
write lock, or a transaction-level advisory lock on PostgreSQL.

>>> subs = Substitutions(medflow.db, zone="Europe/Moscow")                      # doctest: +SKIP
>>> subs.add("operator1", "operator2", "2026-12-07", "2026-12-18", "отпуск", actor="supervisor")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, text
from sqlalchemy.orm import Session

from engine import clock
from engine.account_models import Account, Substitution
from engine.db import Database
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import AuditEvent

MAX_DAYS = 366
MAX_REASON = 300
WORKING_ROLES = ("operator", "supervisor", "admin")
# pg_advisory_xact_lock key of "add a substitution": the overlap checks and the insert must not
# interleave with another add (two deputies for one person, or a deputy who is away).
_ADVISORY_KEY = 0x5B5717


@dataclass(frozen=True)
class SubstitutionInfo:
    id: int
    absent: str
    deputy: str
    starts_on: date
    ends_on: date
    reason: str
    created_by: str
    created_at: datetime
    cancelled_by: str | None
    cancelled_at: datetime | None

    def active_on(self, day: date) -> bool:
        return self.cancelled_at is None and self.starts_on <= day <= self.ends_on

    def to_dict(self, today: date) -> dict[str, Any]:
        """As the API and ``--json`` give it; ``active``: whether it is in force on ``today``."""
        return {"id": self.id, "absent": self.absent, "deputy": self.deputy,
                "starts_on": self.starts_on.isoformat(), "ends_on": self.ends_on.isoformat(),
                "reason": self.reason, "created_by": self.created_by, "created_at": self.created_at.isoformat(),
                "cancelled_by": self.cancelled_by,
                "cancelled_at": self.cancelled_at.isoformat() if self.cancelled_at else None,
                "active": self.active_on(today)}


@dataclass(frozen=True)
class WorkScope:
    """Whose work a person does today: their own name first, then those they stand in for."""

    usernames: tuple[str, ...]
    groups: tuple[str, ...]
    covering: tuple[SubstitutionInfo, ...]  # the substitutions in force today where they are the deputy

    @property
    def standing_in_for(self) -> tuple[str, ...]:
        return tuple(c.absent for c in self.covering)

    def covers(self, assignee: str | None) -> bool:
        return assignee is not None and assignee in self.usernames

    def covering_for(self, assignee: str | None) -> SubstitutionInfo | None:
        return next((c for c in self.covering if c.absent == assignee), None)


def _info(row: Any) -> SubstitutionInfo:
    return SubstitutionInfo(row.id, row.absent, row.deputy, row.starts_on, row.ends_on, row.reason or "",
                            row.created_by, _aware(row.created_at), row.cancelled_by, _aware(row.cancelled_at))


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=clock.UTC) if value is not None and value.tzinfo is None else value


def _current(day: Any) -> Any:
    return and_(Substitution.cancelled_at.is_(None), Substitution.starts_on <= day, Substitution.ends_on >= day)


def _overlapping(starts_on: date, ends_on: date) -> Any:
    return and_(Substitution.cancelled_at.is_(None), Substitution.ends_on >= starts_on,
                Substitution.starts_on <= ends_on)


def covers(session: Session, deputy: str, absent: str, day: date) -> bool:
    """Whether ``deputy`` stands in for ``absent`` on ``day``: read inside the command's own
    transaction, so a substitution cancelled meanwhile is not acted on."""
    found = session.execute(select(Substitution.id).where(
        Substitution.deputy == deputy, Substitution.absent == absent, _current(day)).limit(1)).first()
    return found is not None


def parse_day(value: Any, field: str, errors: list[dict[str, str]]) -> date | None:
    """ISO (2026-12-07, as a date input and JSON send it) or ДД.ММ.ГГГГ (as people type it)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text_value = str(value or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text_value, pattern).date()
        except ValueError:
            continue
    message = "укажите дату" if not text_value else "дата в формате ДД.ММ.ГГГГ"
    errors.append({"field": field, "message": message, "code": "date"})
    return None


def _period(info: Any) -> str:
    return f"{info.starts_on:%d.%m.%Y}–{info.ends_on:%d.%m.%Y}"


# Told of every substitution named ("added") or ended ("cancelled") inside its transaction, as
# status listeners are: handlers write the deputy's notice to the outbox, committed with it.
SubstitutionListener = Callable[[Session, str, SubstitutionInfo], None]


class Substitutions:
    def __init__(self, db: Database, zone: str | ZoneInfo = "Europe/Moscow") -> None:
        self.db = db
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.listeners: list[SubstitutionListener] = []

    def _tell(self, session: Session, event: str, info: SubstitutionInfo) -> None:
        for listener in self.listeners:
            listener(session, event, info)

    def today(self) -> date:
        return clock.now().astimezone(self.zone).date()

    # --- changes ---------------------------------------------------------------------------

    def add(self, absent: str, deputy: str, starts_on: Any, ends_on: Any, reason: str = "",
            actor: str = "system") -> SubstitutionInfo:
        """Name ``deputy`` for ``absent`` over the period; every problem is reported by field and
        nothing is saved."""
        errors: list[dict[str, str]] = []
        absent, deputy, reason = str(absent or "").strip(), str(deputy or "").strip(), str(reason or "").strip()
        start, end = parse_day(starts_on, "starts_on", errors), parse_day(ends_on, "ends_on", errors)
        today = self.today()
        if start and end:
            if end < start:
                errors.append({"field": "ends_on", "message": "окончание раньше начала", "code": "order"})
            elif end < today:
                errors.append({"field": "ends_on", "message": "период уже закончился", "code": "past"})
            elif (end - start).days + 1 > MAX_DAYS:
                errors.append({"field": "ends_on", "message": f"не дольше {MAX_DAYS} дней", "code": "too_long"})
        if len(reason) > MAX_REASON:
            errors.append({"field": "reason", "message": f"не длиннее {MAX_REASON} символов", "code": "too_long"})
        if absent and absent == deputy:
            errors.append({"field": "deputy", "message": "нельзя замещать самого себя", "code": "self"})
        with self.db.write() as session:
            if self.db.is_postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
            roles = dict(session.execute(select(Account.username, Account.role).where(
                Account.username.in_([absent, deputy]), Account.active.is_(True))).all())
            for field, name in (("absent", absent), ("deputy", deputy)):
                if not name:
                    errors.append({"field": field, "message": "укажите сотрудника", "code": "required"})
                elif name not in roles:
                    errors.append({"field": field, "message": f"нет действующего сотрудника {name}", "code": "unknown"})
                elif roles[name] not in WORKING_ROLES:
                    errors.append({"field": field, "message": f"{name} не работает с задачами", "code": "role"})
            if not errors and start and end:
                errors += self._conflicts(session, absent, deputy, start, end)
            if errors:
                raise ValidationFailed("Замещение не сохранено", errors=errors)
            row = Substitution(absent=absent, deputy=deputy, starts_on=start, ends_on=end, reason=reason,
                               created_by=actor, created_at=clock.now())
            session.add(row)
            session.flush()
            self._audit(session, actor, "substitution_added", absent,
                        f"{deputy} {_period(row)}" + (f" ({reason})" if reason else ""))
            info = _info(row)
            self._tell(session, "added", info)
            return info

    def _conflicts(self, session: Session, absent: str, deputy: str, start: date, end: date) -> list[dict[str, str]]:
        during = _overlapping(start, end)
        problems = []
        for other in session.scalars(select(Substitution).where(Substitution.absent == absent, during).limit(1)):
            problems.append({"field": "starts_on", "code": "overlap", "message":
                             f"у {absent} уже есть замещение на {_period(other)} (замещает {other.deputy})"})
        for other in session.scalars(select(Substitution).where(Substitution.deputy == absent, during).limit(1)):
            problems.append({"field": "absent", "code": "is_deputy", "message":
                             f"{absent} замещает {other.absent} {_period(other)}: сначала назначьте другого заместителя"})
        for other in session.scalars(select(Substitution).where(Substitution.absent == deputy, during).limit(1)):
            problems.append({"field": "deputy", "code": "away", "message":
                             f"{deputy} сам отсутствует {_period(other)}"})
        return problems

    def cancel(self, substitution_id: int, actor: str) -> SubstitutionInfo:
        """End a substitution now (or before it starts); the tasks the deputy took stay theirs."""
        with self.db.write() as session:
            row = session.get(Substitution, substitution_id)
            if row is None:
                raise NotFound(f"Замещение {substitution_id} не найдено", substitution_id=substitution_id)
            if row.cancelled_at is not None:
                raise Conflict(f"Замещение {substitution_id} уже отменено ({row.cancelled_by})",
                               substitution_id=substitution_id)
            if row.ends_on < self.today():
                raise Conflict(f"Замещение {substitution_id} уже закончилось {row.ends_on:%d.%m.%Y}",
                               substitution_id=substitution_id)
            row.cancelled_by, row.cancelled_at = actor, clock.now()
            self._audit(session, actor, "substitution_cancelled", row.absent, f"{row.deputy} {_period(row)}")
            info = _info(row)
            self._tell(session, "cancelled", info)
            return info

    def cancel_involving(self, person: str, actor: str) -> list[SubstitutionInfo]:
        """Cancel the running and planned substitutions where ``person`` is away or the deputy:
        someone who leaves stands in for nobody, and their colleagues need another deputy."""
        today = self.today()
        with self.db.write() as session:
            rows = session.scalars(select(Substitution).where(
                (Substitution.absent == person) | (Substitution.deputy == person),
                Substitution.cancelled_at.is_(None), Substitution.ends_on >= today).order_by(Substitution.id)).all()
            for row in rows:
                row.cancelled_by, row.cancelled_at = actor, clock.now()
                self._audit(session, actor, "substitution_cancelled", row.absent, f"{row.deputy} {_period(row)}")
                self._tell(session, "cancelled", _info(row))
            return [_info(row) for row in rows]

    def _audit(self, session: Session, actor: str, action: str, old: str | None, new: str | None) -> None:
        # Beside the security journal (instance-less events in the same append-only table).
        session.add(AuditEvent(instance_id=None, at=clock.now(), actor=actor, action=action, old=old, new=new))

    # --- reads -----------------------------------------------------------------------------

    def get(self, substitution_id: int) -> SubstitutionInfo:
        with self.db.read() as session:
            row = session.get(Substitution, substitution_id)
            if row is None:
                raise NotFound(f"Замещение {substitution_id} не найдено", substitution_id=substitution_id)
            return _info(row)

    def current(self, person: str | None = None, limit: int = 200, after_id: int | None = None) -> list[SubstitutionInfo]:
        """Those not yet over and not cancelled (running and planned), oldest first; ``person``:
        only where they are the absent one or the deputy."""
        today = self.today()
        query = select(Substitution).where(Substitution.cancelled_at.is_(None), Substitution.ends_on >= today)
        if person is not None:
            query = query.where((Substitution.absent == person) | (Substitution.deputy == person))
        if after_id is not None:
            query = query.where(Substitution.id > after_id)
        with self.db.read() as session:
            return [_info(r) for r in session.scalars(query.order_by(Substitution.id).limit(limit))]

    def scope(self, username: str, groups: Sequence[str]) -> WorkScope:
        """Whose tasks ``username`` works today (a worklist request asks this once)."""
        query = (select(Substitution, Account.groups).join(Account, Account.username == Substitution.absent)
                 .where(Substitution.deputy == username, _current(self.today())))
        with self.db.read() as session:
            # A handful: in the order they were named (no ORDER BY: a sort the plan test refuses).
            rows = sorted(((_info(row), extra) for row, extra in session.execute(query)), key=lambda r: r[0].id)
        merged = list(groups)
        for _, extra in rows:
            merged += [g for g in extra or () if g not in merged]
        covering = tuple(info for info, _ in rows)
        return WorkScope((username, *(c.absent for c in covering)), tuple(merged), covering)

    def away(self, usernames: Sequence[str]) -> dict[str, SubstitutionInfo]:
        """Who of ``usernames`` is away today, with the substitution that covers them (a task page
        says so beside its assignee and in its hand-over list)."""
        names = sorted({n for n in usernames if n})
        if not names:
            return {}
        with self.db.read() as session:
            rows = session.scalars(select(Substitution).where(Substitution.absent.in_(names), _current(self.today())))
            return {r.absent: _info(r) for r in rows}


def may_manage(role: str, username: str, absent: str) -> bool:
    """Supervisors name deputies for anyone; an operator only for their own absence."""
    return role in ("supervisor", "admin") or (role == "operator" and username == absent)

