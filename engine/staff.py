"""The staff as a supervisor manages them: who holds how many open tasks, who is away and who
stands in, and whom a person may disable or enable (a departure itself: engine/departures.py).

>>> overview(medflow, accounts)[0].to_dict()                                     # doctest: +SKIP
{'username': 'admin', 'role': 'admin', 'open_tasks': 0, 'away': None, 'standing_in_for': [], ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from engine.account_models import STAFF_ROLES
from engine.account_rules import APPLICANT_GROUP
from engine.accounts import AccountInfo, Accounts
from engine.db import Database
from engine.errors import EngineError, NotAllowed, NotFound, ValidationFailed
from engine.models import UserTask
from engine.projections import properties
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
                "active": p.active, "password_temporary": p.password_temporary, "open_tasks": self.open_tasks,
                "away": None if self.away is None else {"until": self.away.ends_on.isoformat(),
                                                        "deputy": self.away.deputy},
                "standing_in_for": list(self.standing_in_for)}


WHO_MAY_GRANT = "Руководитель назначает роли «оператор» и «аналитик»; другие роли — администратор."


def grantable_roles(actor: AccountInfo) -> tuple[str, ...]:
    """The roles ``actor`` may give: an admin any staff role, a supervisor their own staff's."""
    if actor.role == "admin":
        return STAFF_ROLES
    return ("operator", "analyst") if actor.role == "supervisor" else ()


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


def add_member(accounts: Accounts, actor: AccountInfo, fields: dict[str, Any]) -> AccountInfo:
    """A new staff account with a first password the person is told in person and replaces at the
    first login; refused by field."""
    role = fields.get("role")
    if role not in grantable_roles(actor):
        _refuse_role(role)
    return accounts.create(fields.get("username") or "", fields.get("password") or "", fields.get("full_name") or "",
                           role=role, groups=fields.get("groups") or [], email=fields.get("email") or None,
                           actor=actor.username, temporary=True)


def edit_member(accounts: Accounts, actor: AccountInfo, username: str, changes: dict[str, Any]) -> AccountInfo:
    """Change a staff member's name, e-mail, role or groups, as far as ``actor`` manages them."""
    person = manageable(accounts, actor, username)
    if "role" in changes and changes["role"] != person.role and changes["role"] not in grantable_roles(actor):
        _refuse_role(changes["role"])
    return accounts.update(username, changes, actor=actor.username)


def reset_password(accounts: Accounts, actor: AccountInfo, username: str, password: str) -> None:
    """A new password for someone who forgot theirs: it lifts the failed-login lock, ends their web
    sessions, and holds only until they set their own."""
    manageable(accounts, actor, username)
    accounts.set_password(username, password, actor=actor.username, temporary=True)


def _refuse_role(role: Any) -> None:
    raise ValidationFailed(WHO_MAY_GRANT, errors=[{"field": "role", "code": "forbidden",
                                                   "message": f"{WHO_MAY_GRANT} Запрошено: {role or '—'}"}])


def known_groups(medflow: Any, people: list[AccountInfo]) -> list[str]:
    """The groups the newest deployed diagrams give tasks to (candidateGroups or the lane), and
    those staff already have: what an editor offers as checkboxes, so a typo does not make a
    queue nobody sees."""
    found = {group for person in people for group in person.groups}
    with medflow.db.read() as session:
        for newest in medflow.definitions.newest(session):
            try:
                spec, subprocesses = medflow.definitions.parsed(session, newest.bundle_hash).spec_for(
                    newest.process_key)
            except (KeyError, EngineError):
                continue  # a bundle that no longer parses reports that on its own pages
            for one in (spec, *subprocesses.values()):
                for task_spec in one.task_specs.values():
                    if getattr(task_spec, "manual", False):
                        group = properties(task_spec).get("candidateGroups") or task_spec.lane
                        if group and group != APPLICANT_GROUP:
                            found.add(group)
    return sorted(found)


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
