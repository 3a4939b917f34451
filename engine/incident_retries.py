"""Retrying many incidents at once.

A registry outage leaves an incident on every application whose step called the registry during
it: thousands, retried one by one. Here the open incidents that match a filter (procedure, step,
handler, up to the newest one the person saw) are resolved and each step gets a retry job — due
at once, or spread at a given rate so that a registry just back is not hit by all of them in the
same second. The worker fires those jobs like any other retry: leases, several workers, one
transaction per step. A step that fails again goes through its usual retries with back-off, and
opens a new incident when they run out.

Scheduling is done a batch at a time, each batch one transaction (incident, job, instance and
audit event together): a crash keeps the batches done, and the incidents still open are the ones
left. Nothing is loaded or deserialized: the parked task is put back by the job when it fires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection

from engine import clock
from engine.instance_store import InstanceStore
from engine.models import Incident, Instance, Job

# SQLite has no queue for its write lock: another process polls for it and would miss the instant
# between two batches (the same pause as `medflow migrate --apply`).
SQLITE_PAUSE_SECONDS = 0.12
RESET_ATTEMPTS = "reset_attempts"  # a job's payload: the step gets its full retries again
MAX_PER_SECOND = 1000.0  # more is "at once", which is what giving no rate means
# What one web or API request schedules: well inside the web server's timeout (10,000 take about
# 7 s on SQLite with its pauses); the answer says how many are left.
REQUEST_LIMIT = 10_000

# By id alone, and the rows' status read under their locks in Python: with a status term, PostgreSQL
# whose statistics lag a burst of incidents walked every open incident (or application with one)
# instead of the primary key, a cost that grew with the outage.
_INCIDENT_STATUS = select(Incident.id, Incident.status).where(Incident.id.in_(bindparam("b_ids", expanding=True)))
_RESOLVE = (update(Incident).where(Incident.id.in_(bindparam("b_ids", expanding=True)))
            .values(status="resolved", resolved_at=bindparam("b_at"), resolved_by=bindparam("b_by")))
_INSERT_JOB = insert(Job)
_EARLIER_DUE = (update(Instance).where(Instance.id == bindparam("b_instance")).values(next_due_at=case(
    (and_(Instance.next_due_at.is_not(None), Instance.next_due_at <= bindparam("b_due")), Instance.next_due_at),
    else_=bindparam("b_due"))))
_INCIDENTS_OF = (select(Incident.instance_id, Incident.status)
                 .where(Incident.instance_id.in_(bindparam("b_instances", expanding=True))))
_RUNNING_AGAIN = (update(Instance).where(Instance.id.in_(bindparam("b_instances", expanding=True)))
                  .values(status="running"))


@dataclass(frozen=True)
class IncidentFilter:
    process_key: str | None = None
    element_id: str | None = None
    handler: str | None = None
    # The newest incident the person saw: ones opened since may have another cause.
    up_to_id: int | None = None

    def where(self) -> list[Any]:
        terms: list[Any] = [Incident.status == "open"]
        if self.process_key:
            terms.append(Incident.process_key == self.process_key)
        if self.element_id:
            terms.append(Incident.element_id == self.element_id)
        if self.handler:
            terms.append(Incident.handler == self.handler)
        if self.up_to_id is not None:
            terms.append(Incident.id <= self.up_to_id)
        return terms


@dataclass(frozen=True)
class ScheduledRetries:
    scheduled: int
    remaining: int  # still open and matching (``limit`` reached, or opened meanwhile)
    first_due_at: datetime | None
    last_due_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"scheduled": self.scheduled, "remaining": self.remaining,
                "first_due_at": self.first_due_at.isoformat() if self.first_due_at else None,
                "last_due_at": self.last_due_at.isoformat() if self.last_due_at else None}


@dataclass(frozen=True)
class _Retry:
    incident_id: int
    instance_id: int
    task_id: str
    element_id: str
    instance_status: str  # read under the application's lock


def _matching(flt: IncidentFilter) -> Any:
    # One table, read off (status, id): joined with the applications, PostgreSQL — its statistics
    # behind a sudden burst of incidents — joined them row by row, every batch.
    return (select(Incident.id, Incident.instance_id, Incident.task_id, Incident.element_id)
            .where(*flt.where()).order_by(Incident.id))


def count_matching(conn: Connection, flt: IncidentFilter) -> int:
    return int(conn.execute(select(func.count()).select_from(Incident).where(*flt.where())).scalar_one())


class IncidentRetries:
    def __init__(self, store: InstanceStore) -> None:
        self.store = store
        self.db = store.db

    def schedule(self, flt: IncidentFilter, actor: str, per_second: float | None = None,
                 limit: int | None = None, batch: int = 200) -> ScheduledRetries:
        """Resolve the matching open incidents, oldest first, and give each step a retry job:
        due now, or the n-th at now + n / ``per_second``."""
        if per_second is not None and not 0 < per_second <= MAX_PER_SECOND:  # also refuses nan
            raise ValueError(f"per_second must be in (0, {MAX_PER_SECOND:g}]")
        start = clock.now()
        done, after = 0, 0
        first: datetime | None = None
        last: datetime | None = None
        while limit is None or done < limit:
            if done and self.db.is_sqlite:
                time.sleep(SQLITE_PAUSE_SECONDS)
            take = batch if limit is None else min(batch, limit - done)
            with self.db.write() as session:
                conn = session.connection()
                rows = conn.execute(_matching(flt).where(Incident.id > after).limit(take)).all()
                if not rows:
                    break
                after = rows[-1].id
                rows = self._resolve(conn, rows, actor)
                dues = [start + timedelta(seconds=(done + i) / per_second) if per_second else start
                        for i in range(len(rows))]
                self._retry(session, conn, rows, dues, actor)
            if rows:
                first, last = first or dues[0], dues[-1]
                done += len(rows)
        with self.db.read_one() as conn:
            remaining = count_matching(conn, flt)
        return ScheduledRetries(done, remaining, first, last)

    def _resolve(self, conn: Connection, rows: list[Any], actor: str) -> list[_Retry]:
        """Resolve the batch's incidents; the rows to retry: those this transaction resolved, of
        applications that can still go on.

        The applications are locked first, in id order as every step locks one, so that nobody
        changes them between here and the commit (PostgreSQL; SQLite's write lock is the whole
        database's). An incident of a finished application (closing resolves them since
        migration 0014, so only a race can leave one) is resolved without a retry."""
        statuses = (select(Instance.id, Instance.status).where(Instance.id.in_(sorted({r.instance_id for r in rows})))
                    .order_by(Instance.id))
        if self.db.is_postgres:
            statuses = statuses.with_for_update()
        status = dict(conn.execute(statuses).all())
        # Read again under the locks: a supervisor's single retry may have resolved one meanwhile
        # (it locks the application first too, so it has committed or not started).
        mine = _INCIDENT_STATUS.with_for_update() if self.db.is_postgres else _INCIDENT_STATUS
        still = [i for i, s in conn.execute(mine, {"b_ids": [r.id for r in rows]}) if s == "open"]
        if still:
            conn.execute(_RESOLVE, {"b_ids": still, "b_at": clock.now(), "b_by": actor})
        resolved = set(still)
        return [_Retry(r.id, r.instance_id, r.task_id, r.element_id, status[r.instance_id]) for r in rows
                if r.id in resolved and status.get(r.instance_id) in ("running", "incident")]

    def _retry(self, session: Any, conn: Connection, rows: list[_Retry], dues: list[datetime], actor: str) -> None:
        if not rows:
            return
        now = clock.now()
        conn.execute(_INSERT_JOB, [
            {"instance_id": r.instance_id, "kind": "retry", "task_id": r.task_id, "element_id": r.element_id,
             "due_at": due, "status": "waiting", "attempts": 0, "created_at": now,
             "payload": {RESET_ATTEMPTS: True, "incident_id": r.incident_id}}
            for r, due in zip(rows, dues, strict=True)])
        earliest: dict[int, datetime] = {}
        for r, due in zip(rows, dues, strict=True):
            earliest.setdefault(r.instance_id, due)  # rows are oldest first, dues ascending
            self.store.audit(session, r.instance_id, actor, "incident_retry_scheduled", r.element_id, None,
                             due.isoformat(), {"incident_id": r.incident_id})
        conn.execute(_EARLIER_DUE, [{"b_instance": i, "b_due": due} for i, due in earliest.items()])
        held = {r.instance_id for r in rows if r.instance_status == "incident"}
        if held:  # back to running unless another of its incidents is still open
            others = {i for i, s in conn.execute(_INCIDENTS_OF, {"b_instances": sorted(held)}) if s == "open"}
            if held - others:
                conn.execute(_RUNNING_AGAIN, {"b_instances": sorted(held - others)})
