"""Someone leaves: their account is disabled and their work does not leave with them.

Disabling an account alone left the person's claimed tasks assigned to someone who can no longer
log in: their groups' queues showed the tasks as taken, and the working-day deadlines ran out. A
departure disables the account first (so nothing new reaches them), cancels the substitutions
they were part of (a colleague they stood in for needs another deputy: the result names them),
then hands every open task of theirs to a named colleague or back to its group's queue — each
task in its own transaction under its application's lock, as a hand-over from the worklist. A
crash midway leaves some tasks moved and the rest still theirs; running it again finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.accounts import Accounts
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models import UserTask
from engine.substitutions import WORKING_ROLES, SubstitutionInfo

BATCH = 200


@dataclass(frozen=True)
class Departure:
    username: str
    hand_over_to: str | None  # None: back to each task's group queue
    tasks_moved: int
    substitutions_cancelled: tuple[SubstitutionInfo, ...]

    def to_dict(self, today: Any) -> dict[str, Any]:
        return {"username": self.username, "hand_over_to": self.hand_over_to, "tasks_moved": self.tasks_moved,
                "substitutions_cancelled": [s.to_dict(today) for s in self.substitutions_cancelled]}

    def headline(self) -> str:
        """What the person who disabled the account is told (the CLI and the staff page)."""
        where = f"сотруднику {self.hand_over_to}" if self.hand_over_to else "в очереди их групп"
        return f"Учётная запись {self.username} отключена. Открытых задач передано {where}: {self.tasks_moved}."


def depart(medflow: Any, accounts: Accounts, username: str, actor: str,
           hand_over_to: str | None = None) -> Departure:
    """Disable ``username`` and move their open tasks (see the module's text)."""
    leaving = accounts.find(username)
    if leaving is None:
        raise NotFound(f"Пользователь {username} не найден", username=username)
    if hand_over_to is not None:
        target = accounts.find(hand_over_to)
        problem = ("нельзя передать задачи самому себе" if hand_over_to == username
                   else f"нет действующего сотрудника {hand_over_to}" if target is None or not target.active
                   else f"{hand_over_to} не работает с задачами" if target.role not in WORKING_ROLES else None)
        if problem:
            raise ValidationFailed("Задачи не переданы", errors=[{"field": "to", "message": problem, "code": "target"}])
    accounts.set_active(username, False, actor=actor)
    cancelled = medflow.substitutions.cancel_involving(username, actor)
    return Departure(username, hand_over_to, _move_tasks(medflow, username, actor, hand_over_to), tuple(cancelled))


def _move_tasks(medflow: Any, username: str, actor: str, hand_over_to: str | None) -> int:
    runtime, moved, seen = medflow.runtime, 0, set()
    while True:
        with medflow.db.read() as session:  # off ix_user_tasks_assignee
            ids = [i for i in session.scalars(select(UserTask.id).where(
                UserTask.assignee == username, UserTask.status == "open").limit(BATCH)) if i not in seen]
        if not ids:
            return moved
        for task_id in ids:
            seen.add(task_id)
            try:
                if hand_over_to is None:
                    runtime.unclaim(task_id, actor, force=True)
                else:
                    runtime.assign(task_id, hand_over_to, actor)
                moved += 1
            except (Conflict, NotFound):  # completed, cancelled or moved meanwhile: not theirs now
                continue
