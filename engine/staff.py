"""The staff as a supervisor manages them: who holds how many open tasks, who is away and who
stands in, and whom a person may disable or enable (a departure itself: engine/departures.py).

>>> overview(medflow, accounts)[0].to_dict()                                     # doctest: +SKIP
{'username': 'admin', 'role': 'admin', 'open_tasks': 0, 'away': None, 'standing_in_for': [], ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from engine.accounts import AccountInfo, Accounts
from engine.db import Database
from engine.errors import NotAllowed, NotFound
from engine.models import UserTask
from engine.substitutions import SubstitutionInfo

WHO_MAY = ("Отключать и включать учётные записи может администратор, а руководитель — своих операторов "
           "и аналитиков; свою учётную запись отключить нельзя.")
# A region's staff is hundreds of people: the overview holds them all.
MAX_SUBSTITUTIONS = 1000


@dataclass(frozen=True)
class StaffMember:
    person: AccountInfo
    open_tasks: int
    away: SubstitutionInfo | None  # the substitution covering them today
    standing_in_for: tuple[str, ...]  # whom they stand in for today

    def to_dict(self) -> dict[str, Any]:
        p = self.person
        return {"username": p.username, "full_name": p.full_name, "role": p.role, "groups": list(p.groups),
                "active": p.active, "open_tasks": self.open_tasks,
                "away": None if self.away is None else {"until": self.away.ends_on.isoformat(),
                                                        "deputy": self.away.deputy},
                "standing_in_for": list(self.standing_in_for)}


def may_disable(actor: AccountInfo, target: AccountInfo) -> bool:
    """An admin disables and enables anyone but themselves; a supervisor, operators and analysts
    (their staff), not another supervisor or an admin. Nobody locks themselves out."""
    if actor.username == target.username or target.role == "applicant":
        return False
    return actor.role == "admin" or (actor.role == "supervisor" and target.role in ("operator", "analyst"))


def manageable(accounts: Accounts, actor: AccountInfo, username: str) -> AccountInfo:
    """The staff member ``actor`` may disable or enable: NotFound for no such staff member (an
    applicant included), NotAllowed when not theirs to manage."""
    person = accounts.find(username)
    if person is None or person.role == "applicant":
        raise NotFound(f"Сотрудник {username} не найден", username=username)
    if not may_disable(actor, person):
        raise NotAllowed(WHO_MAY, username=username)
    return person


def reenable(accounts: Accounts, actor: AccountInfo, username: str) -> bool:
    """Enable a disabled staff member's account again (as ``manageable`` allows); False when it
    was active already, so a repeated request changes nothing."""
    if manageable(accounts, actor, username).active:
        return False
    accounts.set_active(username, True, actor=actor.username)
    return True


def open_tasks_by_person(db: Database, usernames: list[str]) -> dict[str, int]:
    """How many open tasks each person holds (what a departure would move): one range of
    ix_user_tasks_assignee per person."""
    if not usernames:
        return {}
    query = (select(UserTask.assignee, func.count()).where(UserTask.assignee.in_(usernames),
                                                           UserTask.status == "open").group_by(UserTask.assignee))
    with db.read() as session:
        return {name: count for name, count in session.execute(query)}


def overview(medflow: Any, accounts: Accounts) -> list[StaffMember]:
    """Everyone who works with applications, by role and name, with their work and absences today."""
    people = accounts.staff()
    names = [p.username for p in people]
    subs = medflow.substitutions
    today, standing_in = subs.today(), {}
    for running in subs.current(limit=MAX_SUBSTITUTIONS):
        if running.active_on(today):
            standing_in.setdefault(running.deputy, []).append(running.absent)
    counts, away = open_tasks_by_person(medflow.db, names), subs.away(names)
    return [StaffMember(p, counts.get(p.username, 0), away.get(p.username), tuple(standing_in.get(p.username, ())))
            for p in people]
