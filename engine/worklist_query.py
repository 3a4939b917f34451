"""The worklist's page query, built once per shape and reused with bound parameters.

One index range scan per group / assignee / with-or-without deadline, each stopping after
``limit`` rows, merged: ``group IN (...) OR assignee = me`` made the database read and sort every
matching row (100,000 open tasks: 62 ms instead of 6 ms). Building that union in SQLAlchemy
(column proxies of six subqueries, then its cache key) was about 10 of the 24 ms a request took
in process, several times the query itself, so the statement is built once for each shape — how many groups, which filters,
which kind of cursor — and only the values change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, literal_column, or_, select, union_all

from engine.models import Instance, UserTask

Cursor = tuple[datetime | None, datetime, str]


@dataclass(frozen=True)
class PageShape:
    groups: int  # how many candidate groups (bound as g0, g1, …)
    assignees: int  # how many people's own tasks (me, and those I stand in for): u0, u1, …
    everyone: bool  # no group or assignee filter (supervisors)
    overdue: bool
    process_key: bool
    business_key: bool
    started_by: bool  # only the applications this person started (an applicant's own tasks)
    after: str | None  # None, "dated" (the cursor row has a deadline) or "undated"
    sqlite: bool = False  # its planner needs telling which index to use (see part())


def unindexed(column: Any) -> Any:
    """``+column``: SQLite then uses no index on it for this term (sqlite.org/optoverview.html,
    "Disqualifying WHERE clause terms using unary-'+'"). SQLite only: PostgreSQL has no unary +
    for text, and it chooses by its statistics anyway."""
    return literal_column(f"+{column.table.name}.{column.name}", type_=column.type)


def page_query(groups: list[str] | None, assignee: str | Sequence[str] | None, overdue: bool, process_key: str | None,
               business_key: str | None, status: str, limit: int, after: Cursor | None,
               now: datetime, started_by: str | None = None,
               sqlite: bool = False) -> tuple[Select[Any] | None, dict[str, Any]]:
    """The statement for these filters (None when nothing can match) and its parameters.
    ``assignee``: one person, or several (a deputy's own and those of the people they stand in for)."""
    people = [] if assignee is None else [assignee] if isinstance(assignee, str) else list(dict.fromkeys(assignee))
    shape = PageShape(len(groups or []), len(people), groups is None and assignee is None, overdue,
                      bool(process_key), bool(business_key), bool(started_by),
                      None if after is None else ("undated" if after[0] is None else "dated"), sqlite)
    params: dict[str, Any] = {"status": status, "limit": limit, "now": now, "process_key": process_key,
                              "business_key": business_key, "started_by": started_by}
    params.update({f"g{i}": group for i, group in enumerate(groups or [])})
    params.update({f"u{i}": person for i, person in enumerate(people)})
    if after is not None:
        params.update(a_due=after[0], a_created=after[1], a_id=after[2])
    return _build(shape), params


@lru_cache(maxsize=256)
def _build(shape: PageShape) -> Select[Any] | None:
    t = UserTask.__table__
    # One person's tasks come from their applications (a handful). SQLite walked every
    # applicant's tasks of the status in deadline order instead (all completed ones ever, for a
    # page of history) or, with statistics, every undated task by a skip-scan of the deadline
    # index. Its unary + takes every other column of the filter out of its choice, leaving the
    # person's applications (instance_id) as the one way in.
    by_person = shape.started_by and shape.sqlite
    c = {name: unindexed(t.c[name]) if by_person else t.c[name]
         for name in ("status", "candidate_group", "assignee", "due_at", "created_at", "id")}

    def part(who: Any, dated: bool) -> Any:
        query = select(t).where(c["status"] == bindparam("status"), who,
                                c["due_at"].is_not(None) if dated else c["due_at"].is_(None))
        if shape.overdue:
            query = query.where(c["due_at"] < bindparam("now"))
        if shape.process_key:
            query = query.where(t.c.process_key == bindparam("process_key"))
        if shape.business_key:
            query = query.where(t.c.business_key == bindparam("business_key"))
        if shape.started_by:
            # By the person's applications (instances by started_by, then their tasks): a page of
            # all applicants' tasks filtered afterwards came back nearly empty.
            query = query.where(t.c.instance_id.in_(
                select(Instance.id).where(Instance.started_by == bindparam("started_by")).scalar_subquery()))
        if shape.after is not None:
            a_created, a_id = bindparam("a_created"), bindparam("a_id")
            tie = or_(c["created_at"] > a_created, and_(c["created_at"] == a_created, c["id"] > a_id))
            if shape.after == "undated":
                if dated:
                    return None  # every dated task sorts before the undated cursor row
                query = query.where(tie)
            elif dated:
                a_due = bindparam("a_due")
                query = query.where(or_(c["due_at"] > a_due, and_(c["due_at"] == a_due, tie)))
        # due_at is NULL throughout an undated part, yet it stays in the order: PostgreSQL does not
        # take ``due_at IS NULL`` as fixing the column, so only the index's full column order
        # lets it read the page off the index instead of sorting every undated task that matches.
        order = [t.c.due_at, t.c.created_at, t.c.id]
        # SQLite allows ORDER BY / LIMIT in a UNION member only inside a subquery.
        return select(query.order_by(*order).limit(bindparam("limit")).subquery())

    whos = [c["candidate_group"] == bindparam(f"g{i}") for i in range(shape.groups)]
    whos += [c["assignee"] == bindparam(f"u{i}") for i in range(shape.assignees)]
    if shape.everyone:
        whos = [c["status"] == bindparam("status")]
    parts = [p for who in whos for p in (part(who, True), part(who, False)) if p is not None]
    if not parts:
        return None
    merged = union_all(*parts).subquery()
    m = merged.c
    return select(merged).order_by(m.due_at.is_(None), m.due_at, m.created_at, m.id)
