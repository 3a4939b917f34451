"""Deadline figures over the worklist projection, for /metrics and the supervisor's SLA dashboard.

Each is one indexed query whose cost does not grow with the history: open tasks are counted in
SQL (the dashboard counted the first 10,000 rows it was given, so past that its totals were
wrong), and completed tasks are read from the recent end of ``ix_user_tasks_done`` (it took the
10,000 completed tasks with the earliest deadlines — a live system's oldest, not its latest).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, union_all

from engine.db import Database
from engine.models import UserTask


def open_tasks_by_sla(db: Database, now: datetime, near: datetime) -> list[tuple[str | None, str, int]]:
    """(candidate group, ``overdue`` | ``near`` | ``ok`` | ``none``, count) of the open tasks; a
    deadline before ``near`` (the end of the last "near" working day) is near."""
    sla = case((UserTask.due_at.is_(None), "none"), (UserTask.due_at <= now, "overdue"),
               (UserTask.due_at <= near, "near"), else_="ok")
    query = (select(UserTask.candidate_group, sla, func.count()).where(UserTask.status == "open")
             .group_by(UserTask.candidate_group, sla))
    with db.read_one() as connection:
        return [(group, state, int(count)) for group, state, count in connection.execute(query)]


def deadline_breaches(db: Database, since: datetime, now: datetime) -> list[dict[str, Any]]:
    """Tasks whose deadline fell between ``since`` and ``now`` and that were completed after it,
    or are still open: process, group and deadline of each."""
    columns = (UserTask.process_key, UserTask.candidate_group, UserTask.due_at)
    in_window = (UserTask.due_at >= since, UserTask.due_at <= now)
    # Two halves, each on its own index: the late ones by completion time (a task completed late
    # was completed after ``since``), the overdue ones in the open part of the worklist.
    late = select(*columns).where(UserTask.status == "completed", UserTask.completed_at >= since,
                                  UserTask.completed_at > UserTask.due_at, *in_window)
    overdue = select(*columns).where(UserTask.status == "open", *in_window)
    query = union_all(late, overdue)
    with db.read_one() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def recent_completions(db: Database, limit: int, except_group: str | None = None) -> list[dict[str, Any]]:
    """The ``limit`` most recently completed tasks, but those of ``except_group``: name, process,
    created and completed."""
    query = (select(UserTask.name, UserTask.process_key, UserTask.created_at, UserTask.completed_at)
             .where(UserTask.status == "completed", UserTask.completed_at.is_not(None))
             .order_by(UserTask.completed_at.desc()).limit(limit))
    if except_group is not None:
        query = query.where(or_(UserTask.candidate_group.is_(None), UserTask.candidate_group != except_group))
    with db.read_one() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]
