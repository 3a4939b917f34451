"""The read side: instances, worklist, history, incidents — from projections, without
deserializing workflows except for one instance's data."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine import clock, workflow_codec
from engine.definitions import FORMS_PREFIX, decode_file
from engine.errors import NotFound
from engine.incident_retries import IncidentFilter, count_matching
from engine.instance_store import InstanceStore, utc
from engine.models import (
    AuditEvent,
    Bundle,
    Definition,
    Incident,
    Instance,
    Job,
    MessageSubscription,
    UnmatchedMessage,
    UserTask,
)
from engine.projections import all_tasks
from engine.worklist_query import page_query, unindexed


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value else None


def instance_dict(row: Instance) -> dict[str, Any]:
    return {
        "id": row.id, "business_key": row.business_key, "process_key": row.process_key,
        "definition_id": row.definition_id, "status": row.status, "portal_status": row.portal_status,
        "next_due_at": _iso(row.next_due_at), "last_error": row.last_error, "started_by": row.started_by,
        "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
        "completed_at": _iso(row.completed_at), "state_size": row.state_size, "steps": row.step_count,
    }


def task_dict(task: UserTask) -> dict[str, Any]:
    due = utc(task.due_at) if task.due_at else None
    return {
        "id": task.id, "instance_id": task.instance_id, "business_key": task.business_key,
        "process_key": task.process_key, "element_id": task.element_id, "name": task.name,
        "candidate_group": task.candidate_group, "assignee": task.assignee, "status": task.status,
        "form_schema": task.form_schema, "form_ui_schema": task.form_ui_schema,
        "due_at": _iso(task.due_at), "overdue": bool(due and task.status == "open" and due < clock.now()),
        "created_at": _iso(task.created_at), "completed_at": _iso(task.completed_at),
        "completed_by": task.completed_by,
    }


def job_dict(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "element_id": job.element_id, "due_at": _iso(job.due_at),
            "expression": job.expression, "calendar": job.calendar, "status": job.status,
            "fired_at": _iso(job.fired_at), "lateness_ms": job.lateness_ms}


def incident_dict(incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "instance_id": incident.instance_id, "business_key": incident.business_key,
            "process_key": incident.process_key, "element_id": incident.element_id, "handler": incident.handler,
            "error": incident.error, "attempts": incident.attempts,
            "status": incident.status, "created_at": _iso(incident.created_at),
            "resolved_at": _iso(incident.resolved_at), "resolved_by": incident.resolved_by}


def audit_dict(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": _iso(event.at), "actor": event.actor, "action": event.action,
            "element_id": event.element_id, "old": event.old, "new": event.new, "details": event.details}


_TASK_ACCESS = (select(UserTask.candidate_group, UserTask.assignee, UserTask.business_key, Instance.started_by)
                .join(Instance, Instance.id == UserTask.instance_id).where(UserTask.id == bindparam("task_id")))


class Queries:
    def __init__(self, store: InstanceStore) -> None:
        self.store = store
        self.db = store.db

    def _row(self, session: Session, ref: int | str) -> Instance:
        # str.isdigit() accepts "²" and 30-digit numbers that overflow the id column.
        if isinstance(ref, int) or re.fullmatch(r"[0-9]{1,18}", str(ref)):
            row = session.get(Instance, int(ref))
        else:
            row = session.scalar(select(Instance).where(Instance.business_key == str(ref)))
        if row is None:
            raise NotFound(f"Заявление {ref} не найдено", instance=str(ref))
        return row

    def instances(self, process_key: str | None = None, status: str | None = None, started_by: str | None = None,
                  limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        """Newest first; ``before_id`` is the keyset cursor (the last id of the previous page)."""
        query = select(Instance).order_by(Instance.id.desc()).limit(limit)
        # One person's applications are a handful: read them by the person. Without statistics
        # (SQLite keeps none unless ANALYZE runs) SQLite's planner chose the procedure or status
        # index instead and checked everyone's applications row by row; its documented unary "+"
        # takes those columns out of its choice (PostgreSQL decides by its statistics).
        column = unindexed if started_by and self.db.is_sqlite else (lambda c: c)
        if process_key:
            query = query.where(column(Instance.process_key) == process_key)
        if status:
            query = query.where(column(Instance.status) == status)
        if started_by:
            query = query.where(Instance.started_by == started_by)
        if before_id:
            query = query.where(Instance.id < before_id)
        with self.db.read() as session:
            return [instance_dict(row) for row in session.scalars(query)]

    def instance(self, ref: int | str, with_data: bool = True) -> dict[str, Any]:
        with self.db.read() as session:
            row = self._row(session, ref)
            result = instance_dict(row)
            definition = session.get(Definition, row.definition_id)
            result["version"] = definition.version if definition else None
            result["open_tasks"] = [task_dict(t) for t in session.scalars(
                select(UserTask).where(UserTask.instance_id == row.id, UserTask.status == "open"))]
            result["jobs"] = [job_dict(j) for j in session.scalars(
                select(Job).where(Job.instance_id == row.id, Job.status == "waiting").order_by(Job.due_at))]
            result["incidents"] = [incident_dict(i) for i in session.scalars(
                select(Incident).where(Incident.instance_id == row.id).order_by(Incident.id))]
            result["waiting_for_messages"] = [s.message_name for s in session.scalars(
                select(MessageSubscription).where(MessageSubscription.instance_id == row.id))]
            if with_data:
                data, active = self._data(session, row)
                result["data"] = workflow_codec.to_jsonable(data)
                result["active_elements"] = active
            return result

    def _data(self, session: Session, row: Instance) -> tuple[dict[str, Any], list[str]]:
        """The instance's current data and the diagram elements it is at (for highlighting)."""
        workflow = self.store.load(session, row, for_reading=True)
        live = all_tasks(workflow, TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR)
        active = sorted({t.task_spec.bpmn_id for t in live if t.task_spec.bpmn_id})
        if not live:
            data = dict(workflow.last_task.data) if workflow.last_task else dict(workflow.data)
            return data, active
        merged: dict[str, Any] = {}
        for task in sorted(live, key=lambda t: t.last_state_change):
            merged.update(task.data)
        return merged, active

    def history(self, ref: int | str, limit: int | None = None, after_id: int | None = None,
                last: int | None = None, before_id: int | None = None,
                actions: Sequence[str] | None = None, skip: Sequence[str] = ()) -> list[dict[str, Any]]:
        """An application's audit log, oldest first; all of it by default. A long-lived one (a
        review loop, years of renewals) has thousands of events, so pages ask for part of it:
        ``limit`` events after ``after_id`` (paging from the start), or the ``last`` ones before
        ``before_id`` (pages that show the latest); ``actions``: only these, ``skip``: not these."""
        query = select(AuditEvent)
        if actions is not None:
            query = query.where(AuditEvent.action.in_(list(actions)))
        if skip:
            query = query.where(AuditEvent.action.not_in(list(skip)))
        if after_id is not None:
            query = query.where(AuditEvent.id > after_id)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        if last is not None:
            query = query.order_by(AuditEvent.id.desc()).limit(last)
        else:
            query = query.order_by(AuditEvent.id).limit(limit)
        with self.db.read() as session:
            row = self._row(session, ref)
            events = [audit_dict(e) for e in session.scalars(query.where(AuditEvent.instance_id == row.id))]
        return events[::-1] if last is not None else events

    def visited_elements(self, ref: int | str, actions: Sequence[str]) -> set[str]:
        """The diagram elements an application has passed, by the audit actions that mark them."""
        with self.db.read() as session:
            row = self._row(session, ref)
            return set(session.scalars(select(AuditEvent.element_id).distinct().where(
                AuditEvent.instance_id == row.id, AuditEvent.action.in_(list(actions)),
                AuditEvent.element_id.is_not(None))))

    def tasks(self, groups: list[str] | None = None, assignee: str | Sequence[str] | None = None, overdue: bool = False,
              process_key: str | None = None, business_key: str | None = None, status: str = "open",
              limit: int = 50, after: tuple[Any, Any, str] | None = None,
              started_by: str | None = None) -> list[dict[str, Any]]:
        """Sorted by deadline (none last), then creation, then id; ``after`` = (due_at, created_at, id)
        of the previous page's last row (keyset paging); ``started_by``: only the applications this
        person started. See :mod:`engine.worklist_query`."""
        query, params = page_query(groups, assignee, overdue, process_key, business_key, status, limit, after,
                                   clock.now(), started_by, self.db.is_sqlite)
        if query is None:
            return []
        with self.db.read_one() as connection:
            rows, seen = [], set()
            for row in connection.execute(query, params):
                if row.id not in seen:  # a task of my group that is also assigned to me comes twice
                    seen.add(row.id)
                    rows.append(task_dict(row))
                    if len(rows) == limit:
                        break
            return rows

    def task(self, task_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            task = session.get(UserTask, task_id)
            if task is None:
                raise NotFound(f"Задача {task_id} не найдена", task_id=task_id)
            result = task_dict(task)
            row = session.get(Instance, task.instance_id)
            digest = self.store.bundle_hash(session, row)
            result["schema"] = self.store.definitions.form(session, digest, task.form_schema)
            result["ui_schema"] = self.store.definitions.form(session, digest, task.form_ui_schema)
            return result

    def task_access(self, task_id: str) -> dict[str, Any]:
        """What deciding who may act on a task needs, in one statement: claim and complete run it
        before the engine loads anything (the full :meth:`task` also reads the forms)."""
        with self.db.read_one() as connection:
            found = connection.execute(_TASK_ACCESS, {"task_id": task_id}).first()
        if found is None:
            raise NotFound(f"Задача {task_id} не найдена", task_id=task_id)
        return dict(found._mapping)

    def started_by(self, business_keys: list[str]) -> dict[str, str | None]:
        """Who started each of these applications (one statement for a page of tasks)."""
        if not business_keys:
            return {}
        query = select(Instance.business_key, Instance.started_by).where(Instance.business_key.in_(business_keys))
        with self.db.read_one() as connection:
            return {key: who for key, who in connection.execute(query)}

    def incidents(self, status: str | None = "open", limit: int | None = None, after_id: int | None = None,
                  where: IncidentFilter | None = None) -> list[dict[str, Any]]:
        """Oldest first; ``after_id``: the keyset cursor (the last id of the previous page);
        ``where``: only the open ones of a procedure, step or handler (``status`` is then open)."""
        query = select(Incident).order_by(Incident.id).limit(limit)
        if where is not None:
            query = query.where(*where.where())
        elif status:
            query = query.where(Incident.status == status)
        if after_id is not None:
            query = query.where(Incident.id > after_id)
        with self.db.read() as session:
            return [incident_dict(i) for i in session.scalars(query)]

    def incident_groups(self, limit: int = 200) -> list[dict[str, Any]]:
        """Open incidents by procedure, step and handler, the largest group first, each with its
        newest error: an outage shows as one large group, retried as one."""
        query = (select(Incident.process_key, Incident.element_id, Incident.handler, func.count(),
                        func.max(Incident.id), func.min(Incident.created_at), func.max(Incident.created_at))
                 .where(Incident.status == "open")
                 .group_by(Incident.process_key, Incident.element_id, Incident.handler)
                 .order_by(func.count().desc(), func.max(Incident.id).desc()).limit(limit))
        with self.db.read() as session:
            conn = session.connection()
            groups = [{"process_key": p, "element_id": e, "handler": h, "count": n, "last_id": last_id,
                       "first_at": _iso(first), "last_at": _iso(last)}
                      for p, e, h, n, last_id, first, last in conn.execute(query)]
            errors = dict(conn.execute(select(Incident.id, Incident.error).where(
                Incident.id.in_([g["last_id"] for g in groups]))).all()) if groups else {}
        for group in groups:
            group["error"] = errors.get(group["last_id"], "")
        return groups

    def open_incident_count(self, where: IncidentFilter | None = None) -> int:
        """A registry outage can open thousands: pages show this count and a few, not all of them."""
        with self.db.read_one() as connection:
            return count_matching(connection, where or IncidentFilter())

    def open_incidents_by_step(self) -> list[tuple[str | None, str, str | None, int]]:
        """(procedure, step, handler, count) of the open incidents, in no order: the metrics'
        gauges (:meth:`incident_groups` is the page's, largest first with its newest error)."""
        query = (select(Incident.process_key, Incident.element_id, Incident.handler, func.count())
                 .where(*IncidentFilter().where())
                 .group_by(Incident.process_key, Incident.element_id, Incident.handler))
        with self.db.read_one() as connection:
            return [(p, e, h, int(n)) for p, e, h, n in connection.execute(query)]

    def unmatched_messages(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.read() as session:
            rows = session.scalars(select(UnmatchedMessage).order_by(UnmatchedMessage.id.desc()).limit(limit))
            return [{"id": m.id, "name": m.name, "business_key": m.business_key, "payload": m.payload,
                     "reason": m.reason, "received_at": _iso(m.received_at)} for m in rows]

    def running_counts(self) -> dict[int, int]:
        """Instances not yet finished, per definition version."""
        query = (select(Instance.definition_id, func.count())
                 .where(Instance.status.in_(("running", "incident"))).group_by(Instance.definition_id))
        with self.db.read() as session:
            return {definition_id: count for definition_id, count in session.execute(query)}

    def definition_files(self, process_key: str, version: int | None = None) -> dict[str, Any]:
        """A deployed version (the newest by default) with its BPMN/DMN files as text."""
        query = select(Definition).where(Definition.process_key == process_key)
        query = query.where(Definition.version == version) if version else query.order_by(Definition.version.desc())
        with self.db.read() as session:
            row = session.scalar(query.limit(1))
            if row is None:
                raise NotFound(f"Процесс «{process_key}» не развёрнут", process_key=process_key)
            bundle = session.get(Bundle, row.bundle_hash)
            files = {name: decode_file(text).decode("utf-8", errors="replace")
                     for name, text in (bundle.files if bundle else {}).items() if not name.startswith(FORMS_PREFIX)}
            return {"id": row.id, "process_key": row.process_key, "name": row.name, "version": row.version,
                    "files": files}

    def definition_by_id(self, definition_id: int) -> dict[str, Any]:
        with self.db.read() as session:
            row = session.get(Definition, definition_id)
            if row is None:
                raise NotFound(f"Версия определения {definition_id} не найдена")
            key, version = row.process_key, row.version
        return self.definition_files(key, version)

    def definitions(self) -> list[dict[str, Any]]:
        with self.db.read() as session:
            rows = session.scalars(select(Definition).order_by(Definition.process_key, Definition.version))
            return [{"id": d.id, "process_key": d.process_key, "name": d.name, "version": d.version,
                     "bundle_hash": d.bundle_hash, "deployed_at": _iso(d.deployed_at), "deployed_by": d.deployed_by}
                    for d in rows]
