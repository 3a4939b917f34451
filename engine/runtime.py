"""Commands that change instances: start, claim, complete, message, cancel, fire jobs, retry.

Every command is one transaction: lock the instance row → load → act → engine steps → save
state + projections + audit → commit. An exception anywhere rolls everything back, so a crash
between any two lines leaves the previous committed state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import Conflict, MessageNotMatched, NotFound, ValidationFailed
from engine.forms import validate_form
from engine.incident_retries import RESET_ATTEMPTS, IncidentFilter, IncidentRetries, ScheduledRetries
from engine.instance_row import InstanceRow
from engine.instance_store import InstanceStore, utc
from engine.models import Incident, Instance, Job, MessageSubscription, UnmatchedMessage, UserTask
from engine.projection_sync import forget_timer, forget_user_task
from engine.projections import user_tasks
from engine.start_timers import mark_start_fired, schedule_next
from engine.stepper import reactivate
from engine.substitutions import covers

TaskAction = Callable[[Session, InstanceRow, BpmnWorkflow], Any]


class Runtime:
    """The write side of the engine. Reads live in :mod:`engine.queries`."""

    def __init__(self, store: InstanceStore) -> None:
        self.store = store
        self.db = store.db
        self.definitions = store.definitions

    # --- instances -------------------------------------------------------------------------

    def start(
        self, process_key: str, data: dict[str, Any] | None = None, actor: str = "system"
    ) -> dict[str, Any]:
        """Start the newest version of ``process_key``; returns id and application number."""
        actor = clean_actor(actor)
        if data is not None and not isinstance(data, dict):
            raise ValidationFailed("Данные заявления должны быть объектом JSON", errors=[{"field": "", "message": "ожидается объект"}])
        with self.db.write() as session:
            definition = self.definitions.latest(session, process_key)
            if definition is None:
                raise NotFound(f"Процесс «{process_key}» не развёрнут", process_key=process_key)
            row, workflow = self.store.create(session, definition, data or {}, actor)
            self.store.finish_step(session, row, workflow, actor)
            return {"id": row.id, "business_key": row.business_key, "status": row.status,
                    "portal_status": row.portal_status, "version": definition.version,
                    "open_tasks": _open_tasks(workflow)}

    def cancel(self, instance_id: int, actor: str, reason: str = "") -> None:
        actor = clean_actor(actor)
        with self.db.write() as session:
            row = self.store.lock(session, instance_id)
            if row.status in ("completed", "cancelled"):
                raise Conflict(f"Заявление {row.business_key} уже завершено ({row.status}), отменить нельзя")
            workflow = self.store.load(session, row)
            workflow.cancel()
            self.store.close(session, row, "cancelled", actor, reason, workflow=workflow)
            self.store.save(session, row, workflow)

    # --- user tasks ------------------------------------------------------------------------

    def _open_task(self, session: Session, task_id: str) -> tuple[Any, InstanceRow]:
        row = self.store.lock_of_task(session, task_id)
        if row is None:
            raise NotFound(f"Задача {task_id} не найдена", task_id=task_id)
        # Read the task only under the instance lock, so a concurrent completion is seen.
        task = session.connection().execute(_TASK_ROW, {"task_id": task_id}).one()
        if task.status != "open":
            who = f": {task.completed_by}" if task.completed_by else ""
            when = f" ({clock_text(task.completed_at)})" if task.completed_at else ""
            verb = "выполнена" if task.status == "completed" else "отменена"
            raise Conflict(f"Задача «{task.name}» уже {verb}{who}{when}", task_id=task_id, status=task.status)
        return task, row

    def claim(self, task_id: str, user: str) -> None:
        user = clean_actor(user)
        with self.db.write() as session:
            task, row = self._open_task(session, task_id)
            if task.assignee == user:
                return
            # A deputy takes over the absent person's task; anyone else's is not theirs to take.
            if task.assignee and not self._stands_in(session, user, task.assignee):
                raise Conflict(f"Задачу «{task.name}» уже взял в работу {task.assignee}", assignee=task.assignee)
            _set_task(session, task_id, assignee=user)
            self.store.audit(session, row.id, user, "task_claimed", task.element_id, task.assignee, user)

    def unclaim(self, task_id: str, user: str, force: bool = False) -> None:
        user = clean_actor(user)
        with self.db.write() as session:
            task, row = self._open_task(session, task_id)
            if task.assignee is None:
                return
            if task.assignee != user and not force and not self._stands_in(session, user, task.assignee):
                raise Conflict(f"Задача «{task.name}» назначена на {task.assignee}, а не на вас", assignee=task.assignee)
            old = task.assignee
            _set_task(session, task_id, assignee=None)
            self.store.audit(session, row.id, user, "task_unclaimed", task.element_id, old, None)

    def assign(self, task_id: str, assignee: str, actor: str) -> None:
        """Hand a task over to another person (a supervisor's or the holder's action)."""
        actor = clean_actor(actor)
        with self.db.write() as session:
            task, row = self._open_task(session, task_id)
            old, assignee = task.assignee, clean_actor(assignee)
            _set_task(session, task_id, assignee=assignee)
            self.store.audit(session, row.id, actor, "task_assigned", task.element_id, old, assignee)

    def _stands_in(self, session: Session, user: str, assignee: str) -> bool:
        """Whether ``user`` is ``assignee``'s deputy today (engine/substitutions.py)."""
        return covers(session, user, assignee, clock.now().astimezone(self.store.helpers.zone).date())

    def complete(self, task_id: str, data: dict[str, Any], user: str) -> dict[str, Any]:
        """Complete an open user task with form data validated against its JSON Schema."""
        user = clean_actor(user)
        with self.db.write() as session:
            task, row = self._open_task(session, task_id)
            acting_for = None
            if task.assignee and task.assignee != user:
                if not self._stands_in(session, user, task.assignee):
                    raise Conflict(f"Задача «{task.name}» взята в работу пользователем {task.assignee}",
                                   assignee=task.assignee)
                acting_for = task.assignee
            schema = self.definitions.form(session, self.store.bundle_hash(session, row), task.form_schema)
            if schema is not None or not isinstance(data, dict):
                errors = validate_form(schema or {"type": "object"}, data)
                if errors:
                    raise ValidationFailed(
                        "Форма заполнена с ошибками",
                        errors=[{"field": e.field, "message": e.message, "code": e.code} for e in errors],
                    )
            workflow = self.store.load(session, row)
            spiff_task = workflow.get_task_from_id(UUID(task_id))
            if spiff_task is None or spiff_task.state != TaskState.READY:
                raise Conflict(f"Задача «{task.name}» больше не ожидает выполнения", task_id=task_id)
            spiff_task.set_data(**data)
            spiff_task.run()
            forget_user_task(workflow, task_id)
            _set_task(session, task_id, status="completed", completed_by=user, completed_at=clock.now())
            details = {"task_id": task_id, "fields": sorted(data)}
            if acting_for:
                details["acting_for"] = acting_for
            self.store.audit(session, row.id, user, "task_completed", task.element_id, None, None, details)
            self.store.finish_step(session, row, workflow, user)
            return {"instance_id": row.id, "business_key": row.business_key, "status": row.status,
                    "portal_status": row.portal_status, "open_tasks": _open_tasks(workflow)}

    # --- messages --------------------------------------------------------------------------

    def send_message(self, name: str, business_key: str, data: dict[str, Any] | None, actor: str) -> dict[str, Any]:
        """Deliver a message to the instance with ``business_key`` that waits for ``name``."""
        name, business_key, actor = _message_key(name, "name"), _message_key(business_key, "business_key"), clean_actor(actor)
        payload = data or {}
        with self.db.write() as session:
            sub = session.scalar(
                select(MessageSubscription)
                .where(MessageSubscription.message_name == name, MessageSubscription.business_key == business_key)
                .order_by(MessageSubscription.id)
                .limit(1)
            )
            if sub is not None:
                row = self.store.lock(session, sub.instance_id)
                # Read again under the lock: a competing delivery may have consumed it meanwhile.
                still = session.connection().scalar(select(MessageSubscription.id).where(MessageSubscription.id == sub.id))
                workflow = self.store.load(session, row) if still is not None else None
                if workflow is not None and self.store.deliver(workflow, sub.task_id, name, payload):
                    self.store.audit(session, row.id, actor, "message_received", sub.element_id, None, name,
                                     {"fields": sorted(payload)})
                    self.store.finish_step(session, row, workflow, actor)
                    return {"instance_id": row.id, "business_key": row.business_key, "status": row.status}
        reason = self._unmatched_reason(name, business_key)
        with self.db.write() as session:
            record = UnmatchedMessage(name=name, business_key=business_key, payload=payload, reason=reason,
                                      received_at=clock.now(), received_by=actor)
            session.add(record)
            session.flush()
            record_id = record.id
        raise MessageNotMatched(
            f"Сообщение «{name}» для {business_key} никто не ожидает: {reason}. Сохранено как несопоставленное №{record_id}",
            unmatched_id=record_id,
        )

    def _unmatched_reason(self, name: str, business_key: str) -> str:
        with self.db.read() as session:
            row = session.scalar(select(Instance).where(Instance.business_key == business_key))
        if row is None:
            return "заявления с таким номером нет"
        if row.status != "running":
            return f"заявление в состоянии {row.status}"
        return f"заявление не ожидает сообщения «{name}» сейчас"

    # --- jobs and incidents ----------------------------------------------------------------

    def fire_job(self, job_id: int, worker: str) -> bool:
        """Fire a due timer or retry; idempotent — a job already done is skipped."""
        with self.db.write() as session:
            job = session.connection().execute(_WAITING_JOB, {"job_id": job_id}).first()
            return job is not None and self._fire(session, job, worker, fresh=not self.db.is_postgres)

    def fire_jobs(self, job_ids: list[int], worker: str) -> int:
        """Fire several due jobs in one transaction; how many fired.

        One commit for the lot: on SQLite a fire's own commit (index and audit pages written to
        the WAL) was about a quarter of its cost, and the jobs of a burst share those pages. Instances are locked
        in id order, so two workers' batches cannot deadlock. An exception rolls the whole batch
        back; the caller then fires each job alone (:meth:`fire_job`), so one broken instance
        costs the others only the retry.
        """
        fired, seen = 0, set()
        with self.db.write() as session:
            jobs = session.connection().execute(_WAITING_JOBS, {"ids": list(job_ids)}).all()
            for job in jobs:
                # An earlier job of this batch may have completed the instance or cancelled this
                # job: then the row read above is stale and is read again under the lock.
                fired += self._fire(session, job, worker, fresh=job.instance_id not in seen and not self.db.is_postgres)
                seen.add(job.instance_id)
        return fired

    def _fire(self, session: Session, job: Any, worker: str, fresh: bool) -> bool:
        """``fresh``: ``job`` was read in this transaction and nothing since can have changed it
        (SQLite: the write lock is the whole database's); otherwise it is read again under the
        instance's row lock (PostgreSQL: another worker may have fired it meanwhile)."""
        if job.kind == "start":
            return self._fire_start(session, job, worker)
        conn = session.connection()
        row = self.store.lock(session, job.instance_id)
        if not fresh:
            job = conn.execute(_JOB, {"job_id": job.id}).one()
        now = clock.now()
        if job.status != "waiting" or job.due_at > now or row.status in ("completed", "cancelled"):
            return False
        workflow = self.store.load(session, row)
        if job.kind == "retry":
            # A retry scheduled for an incident gives the step its full retries again.
            reset = bool((job.payload or {}).get(RESET_ATTEMPTS))
            if reactivate(workflow, job.task_id, reset_attempts=reset) is None:
                conn.execute(_CANCEL_JOB, {"job_id": job.id})
                return False
        else:
            forget_timer(workflow, job.task_id)  # recorded here, with the worker's name
            workflow.refresh_timers()
        lateness_ms = int((now - utc(job.due_at)).total_seconds() * 1000)
        conn.execute(_JOB_DONE, {"job_id": job.id, "b_fired_at": now, "b_lateness": lateness_ms, "worker": worker})
        self.store.audit(session, row.id, worker, f"{job.kind}_fired", job.element_id, None, None,
                         {"due_at": utc(job.due_at).isoformat(), "lateness_ms": lateness_ms})
        self.store.finish_step(session, row, workflow, worker)
        return True

    def _fire_start(self, session: Session, job: Any, worker: str) -> bool:
        conn = session.connection()
        if self.db.is_postgres:  # two workers: only the one holding the row lock starts the instance
            job = conn.execute(_JOB_FOR_UPDATE, {"job_id": job.id}).one()
        now = clock.now()
        if job.status != "waiting" or job.due_at > now:
            return False
        lateness_ms = int((now - utc(job.due_at)).total_seconds() * 1000)
        conn.execute(_JOB_DONE, {"job_id": job.id, "b_fired_at": now, "b_lateness": lateness_ms, "worker": worker})
        schedule_next(session, job)
        definition = self.definitions.latest(session, job.process_key)
        if definition is None:
            return False
        row, workflow = self.store.create(session, definition, {}, actor=worker)
        mark_start_fired(workflow)
        self.store.audit(session, row.id, worker, "start_timer_fired", job.element_id, None, None,
                         {"due_at": utc(job.due_at).isoformat(), "lateness_ms": lateness_ms})
        self.store.finish_step(session, row, workflow, worker)
        return True

    def retry_incident(self, incident_id: int, actor: str) -> dict[str, Any]:
        actor = clean_actor(actor)
        with self.db.write() as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                raise NotFound(f"Инцидент {incident_id} не найден", incident_id=incident_id)
            row = self.store.lock(session, incident.instance_id)
            session.refresh(incident)
            if incident.status != "open":
                raise Conflict(f"Инцидент {incident_id} уже закрыт ({incident.resolved_by})")
            workflow = self.store.load(session, row)
            if reactivate(workflow, incident.task_id, reset_attempts=True) is None:
                raise Conflict(f"Шаг {incident.element_id} больше не ожидает повтора")
            incident.status, incident.resolved_at, incident.resolved_by = "resolved", clock.now(), actor
            self.store.audit(session, row.id, actor, "incident_retried", incident.element_id, None, None,
                             {"incident_id": incident_id})
            self.store.finish_step(session, row, workflow, actor)
            return {"instance_id": row.id, "status": row.status}

    def retry_incidents(self, where: IncidentFilter, actor: str, per_second: float | None = None,
                        limit: int | None = None) -> ScheduledRetries:
        """Retry every open incident that matches ``where`` through the worker (see
        :mod:`engine.incident_retries`)."""
        return IncidentRetries(self.store).schedule(where, clean_actor(actor), per_second, limit)

    def claim_due_jobs(self, worker: str, limit: int, lease_seconds: int) -> list[int]:
        """Lease up to ``limit`` due jobs; PostgreSQL skips rows another worker holds."""
        now = clock.now()
        if not self.db.is_postgres:
            # SQLite has one write lock for the whole database, and workers look every quarter
            # second: an idle look must not take it from the requests.
            with self.db.read() as session:
                if session.connection().scalar(_DUE_JOBS, {"now": now, "limit": 1}) is None:
                    return []
        with self.db.write() as session:
            conn = session.connection()
            query = _DUE_JOBS_SKIP_LOCKED if self.db.is_postgres else _DUE_JOBS
            ids = list(conn.scalars(query, {"now": now, "limit": limit}))
            if ids:
                conn.execute(_LEASE_JOBS, {"ids": ids, "worker": worker,
                                           "until": now + timedelta(seconds=lease_seconds)})
            return ids


_TASK_COLUMNS = (UserTask.id, UserTask.instance_id, UserTask.name, UserTask.element_id, UserTask.status,
                 UserTask.assignee, UserTask.form_schema, UserTask.completed_by, UserTask.completed_at)
# Built once (building cost more than running them; see engine.instance_row).
_TASK_ROW = select(*_TASK_COLUMNS).where(UserTask.id == bindparam("task_id"))
_TASK_UPDATES: dict[frozenset[str], Any] = {}
_JOB_COLUMNS = (Job.id, Job.instance_id, Job.kind, Job.task_id, Job.element_id, Job.status, Job.due_at,
                Job.process_key, Job.payload, Job.expression)
_JOB = select(*_JOB_COLUMNS).where(Job.id == bindparam("job_id"))
_JOB_FOR_UPDATE = _JOB.with_for_update()
_WAITING_JOB = _JOB.where(Job.status == "waiting")
_WAITING_JOBS = (select(*_JOB_COLUMNS).where(Job.id.in_(bindparam("ids", expanding=True)), Job.status == "waiting")
                 .order_by(Job.instance_id, Job.due_at))
_CANCEL_JOB = update(Job).where(Job.id == bindparam("job_id")).values(status="cancelled")
_JOB_DONE = update(Job).where(Job.id == bindparam("job_id")).values(
    status="done", fired_at=bindparam("b_fired_at"), lateness_ms=bindparam("b_lateness"), lease_owner=bindparam("worker"))
_DUE_JOBS = (select(Job.id).where(Job.status == "waiting", Job.due_at < bindparam("now"))
             .where(Job.lease_until.is_(None) | (Job.lease_until < bindparam("now")))
             .order_by(Job.due_at).limit(bindparam("limit")))
_DUE_JOBS_SKIP_LOCKED = _DUE_JOBS.with_for_update(skip_locked=True)
_LEASE_JOBS = update(Job).where(Job.id.in_(bindparam("ids", expanding=True))).values(
    lease_owner=bindparam("worker"), lease_until=bindparam("until"), attempts=Job.attempts + 1)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _message_key(value: Any, field: str) -> str:
    """An application number or message name from outside, checked before it reaches SQL."""
    limit = 100 if field == "business_key" else 200
    ok = isinstance(value, str) and 0 < len(value) <= limit and not _CONTROL.search(value)
    if ok:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            ok = False
    if not ok:
        label = "номер заявления" if field == "business_key" else "имя сообщения"
        raise ValidationFailed(f"Неверный {label}", errors=[{"field": field, "message":
                               f"ожидается непустая строка до {limit} символов без управляющих символов"}])
    return value


def clean_actor(actor: Any) -> str:
    """Who acted, as the audit log can store it on every database (no NUL, at most 200 chars)."""
    text = str(actor or "system").encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)[:200] or "system"


def _open_tasks(workflow: BpmnWorkflow) -> list[dict[str, Any]]:
    """The instance's user tasks after the step, so a caller can go on to the next form
    without another query (a screen flow: submit, then the next page of the same person)."""
    return [
        {"id": t.task_id, "element_id": t.element_id, "name": t.name,
         "candidate_group": t.properties.get("candidateGroups") or t.lane}
        for t in user_tasks(workflow)
    ]


def _set_task(session: Session, task_id: str, **values: Any) -> None:
    statement = _TASK_UPDATES.get(frozenset(values))
    if statement is None:
        statement = update(UserTask).where(UserTask.id == bindparam("task_id")).values(
            **{name: bindparam(f"new_{name}") for name in values})
        _TASK_UPDATES[frozenset(values)] = statement
    session.connection().execute(statement, {"task_id": task_id, **{f"new_{k}": v for k, v in values.items()}})


def clock_text(value: datetime) -> str:
    return utc(value).strftime("%d.%m.%Y %H:%M UTC")
