"""Loading, stepping and saving one instance inside a transaction.

``finish_step`` is the second half of every command: run engine steps, turn failures into jobs
or incidents, update the portal status, compact history, save the state and rebuild the
projections — all in the caller's transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine import clock, workflow_codec
from engine.audit_log import buffer_audit
from engine.business_keys import allocate_business_key
from engine.db import Database, is_lock_timeout
from engine.definitions import DefinitionStore
from engine.engine_loop import skip_idle_waiting_walks
from engine.errors import Busy, NotFound, StateUnreadable
from engine.handler_registry import CallContext
from engine.instance_row import InstanceRow, insert_row, read_row, read_row_of_task, write_row
from engine.models import Definition, Incident, Job, MessageSubscription, UserTask
from engine.projection_sync import (
    SNAPSHOT_ATTR,
    Snapshot,
    record_fired_timers,
    sync_projections,
    take_snapshot,
)
from engine.projections import all_tasks, properties
from engine.script_engine import MedflowScriptEngine, TimeHelpers
from engine.stepper import run_steps
from engine.workflow_cache import WorkflowCache

StatusListener = Callable[[Session, InstanceRow, str | None, str], None]

# Built once (building cost more than running them; see engine.instance_row).
_INSTANCE = bindparam("b_instance")
_CANCEL_OPEN_TASKS = (update(UserTask).where(UserTask.instance_id == _INSTANCE, UserTask.status == "open")
                      .values(status="cancelled"))
_CANCEL_WAITING_JOBS = update(Job).where(Job.instance_id == _INSTANCE, Job.status == "waiting").values(status="cancelled")
_DROP_SUBSCRIPTIONS = delete(MessageSubscription).where(MessageSubscription.instance_id == _INSTANCE)
_RESOLVE_INCIDENTS = (update(Incident).where(Incident.instance_id == _INSTANCE, Incident.status == "open")
                      .values(status="resolved", resolved_at=bindparam("b_at"), resolved_by=bindparam("b_by")))
_OPEN_INCIDENT = select(Incident.id).where(Incident.instance_id == _INSTANCE, Incident.status == "open").limit(1)


# session.info key: ids of the instances this transaction created. Nothing can refer to them yet
# but what the same transaction wrote, so listeners may skip looking them up.
CREATED_IN_STEP = "medflow.created_instances"


class InstanceStore:
    def __init__(
        self,
        db: Database,
        definitions: DefinitionStore,
        helpers: TimeHelpers,
        retry_delays: list[int],
        key_prefixes: dict[str, str],
        default_prefix: str,
        cache_size: int = 500,
        max_result_bytes: int = 256 * 1024,
        script_seconds: float = 5.0,
    ) -> None:
        self.max_result_bytes = max_result_bytes
        self.script_seconds = script_seconds
        self.db = db
        self.definitions = definitions
        self.helpers = helpers
        self.retry_delays = retry_delays
        self.key_prefixes = key_prefixes
        self.default_prefix = default_prefix
        self.status_listeners: list[StatusListener] = []
        self.cache = WorkflowCache(cache_size)
        self.services: dict[str, Any] = {}
        self._definition_hash: dict[int, tuple[str, str]] = {}
        # Test hook: called between load and commit to prove a crash there loses nothing.
        self.before_commit: Callable[[InstanceRow], None] | None = None

    # --- loading -----------------------------------------------------------------------------

    def lock(self, session: Session, instance_id: int) -> InstanceRow:
        with _busy_when_held(instance_id=instance_id):
            row = read_row(session, instance_id, for_update=self.db.is_postgres)
        if row is None:
            raise NotFound(f"Заявление {instance_id} не найдено", instance_id=instance_id)
        return row

    def lock_of_task(self, session: Session, task_id: str) -> InstanceRow | None:
        with _busy_when_held(task_id=task_id):
            return read_row_of_task(session, task_id, for_update=self.db.is_postgres)

    def bundle_hash(self, session: Session, row: InstanceRow) -> str:
        cached = self._definition_hash.get(row.definition_id)
        if cached is None:
            definition = session.get(Definition, row.definition_id)
            cached = (definition.bundle_hash, definition.process_key)
            self._definition_hash[row.definition_id] = cached
        return cached[0]

    def _script_engine(self, row: InstanceRow, session: Session) -> MedflowScriptEngine:
        def context(task: Any, handler: str) -> CallContext:
            attempt = int(task.internal_data.get("medflow_attempts", 0)) + 1
            return CallContext(
                instance_id=row.id, business_key=row.business_key, process_key=row.process_key,
                element_id=task.task_spec.bpmn_id or task.task_spec.name, task_id=str(task.id),
                attempt=attempt, now=clock.now(), idempotency_key=f"{row.id}:{task.id}",
                services=self.services, session=session,
            )

        return MedflowScriptEngine(self.helpers, context, self.max_result_bytes, self.script_seconds)

    def load(self, session: Session, row: InstanceRow, for_reading: bool = False) -> BpmnWorkflow:
        """The workflow of ``row``; a writer takes it from the cache, a reader always deserializes
        (it must never share an object a writer is changing)."""
        workflow = None if for_reading else self.cache.take(row.id, row.version)
        if workflow is None:
            bundle = self.definitions.parsed(session, self.bundle_hash(session, row))
            spec, subprocess_specs = bundle.spec_for(row.process_key)
            try:
                workflow = workflow_codec.loads(row.state, spec, subprocess_specs)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:  # json and Spiff's converters
                raise StateUnreadable(
                    f"Сохранённое состояние заявления {row.business_key} повреждено и не читается "
                    f"({type(exc).__name__}: {exc}); восстановите строку instances.id={row.id} из резервной копии",
                    instance_id=row.id, business_key=row.business_key) from exc
            take_snapshot(workflow)
        skip_idle_waiting_walks(workflow)
        workflow.script_engine = self._script_engine(row, session)
        return workflow

    def create(
        self, session: Session, definition: Definition, data: dict[str, Any], actor: str
    ) -> tuple[InstanceRow, BpmnWorkflow]:
        bundle = self.definitions.parsed(session, definition.bundle_hash)
        spec, subprocess_specs = bundle.spec_for(definition.process_key)
        now = clock.now()
        prefix = self.key_prefixes.get(definition.process_key, self.default_prefix)
        local_year = now.astimezone(self.helpers.zone).year
        row = insert_row(
            session, business_key=allocate_business_key(session, prefix, local_year),
            process_key=definition.process_key, definition_id=definition.id, status="running",
            created_at=now, updated_at=now, started_by=actor,
        )
        session.info.setdefault(CREATED_IN_STEP, set()).add(row.id)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self._script_engine(row, session))
        setattr(workflow, SNAPSHOT_ATTR, Snapshot())
        skip_idle_waiting_walks(workflow)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.set_data(**data)
        self.audit(session, row.id, actor, "instance_started", None, None, definition.process_key,
                   {"version": definition.version, "fields": sorted(data)})
        return row, workflow

    # --- saving ------------------------------------------------------------------------------

    def save(self, session: Session, row: InstanceRow, workflow: BpmnWorkflow) -> None:
        workflow_codec.compact(workflow)
        row.state = workflow_codec.dumps(workflow)
        row.state_size = len(row.state)
        row.updated_at = clock.now()
        row.step_count += 1
        if self.before_commit is not None:
            self.before_commit(row)
        write_row(session, row)
        self.cache.offer(session, row.id, row.version, workflow)

    def finish_step(self, session: Session, row: InstanceRow, workflow: BpmnWorkflow, actor: str) -> None:
        started = time.time()
        now = clock.now()
        report = run_steps(workflow, now, self.retry_delays)
        record_fired_timers(session, row, workflow, self.audit, actor)
        for task in report.completed:
            spec = task.task_spec
            if spec.bpmn_id and not spec.manual:
                self.audit(session, row.id, "engine", "element_completed", spec.bpmn_id, None, None)
        for element_id, code in report.caught_errors:
            self.audit(session, row.id, "engine", "error_caught", element_id, None, code)
        for failure in report.failures:
            if failure.retry_at is not None:
                session.add(Job(instance_id=row.id, kind="retry", task_id=failure.task_id,
                                element_id=failure.element_id, due_at=failure.retry_at, status="waiting",
                                attempts=0, created_at=now))
                self.audit(session, row.id, "engine", "retry_scheduled", failure.element_id, None,
                           failure.retry_at.isoformat(), {"error": failure.error, "attempt": failure.attempts})
            else:
                session.add(Incident(instance_id=row.id, process_key=row.process_key, business_key=row.business_key,
                                     task_id=failure.task_id, element_id=failure.element_id, handler=failure.handler,
                                     error=failure.error, attempts=failure.attempts, status="open", created_at=now))
                self.audit(session, row.id, "engine", "incident_opened", failure.element_id, None,
                           failure.error, {"attempts": failure.attempts})
            row.last_error = failure.error
        self._update_portal_status(session, row, workflow, started, actor)
        if workflow.is_completed():
            self.close(session, row, "completed", "engine", workflow=workflow)
        elif report.failures or row.status == "incident":
            session.flush()  # the incident just added above
            has_incident = session.connection().scalar(_OPEN_INCIDENT, {"b_instance": row.id})
            row.status = "incident" if has_incident else "running"
        new_jobs = any(f.retry_at is not None for f in report.failures)
        sync_projections(session, row, workflow, self.audit, new_jobs=new_jobs)
        self.save(session, row, workflow)

    def _update_portal_status(
        self, session: Session, row: InstanceRow, workflow: BpmnWorkflow, since: float, actor: str
    ) -> None:
        latest, latest_at = None, since
        reached = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.COMPLETED
        for task in all_tasks(workflow, reached):
            status = properties(task.task_spec).get("portalStatus")
            if status and task.last_state_change >= latest_at:
                latest, latest_at = status, task.last_state_change
        if latest is not None and latest != row.portal_status:
            old, row.portal_status = row.portal_status, latest
            self.audit(session, row.id, actor, "status_changed", None, old, latest)
            for listener in self.status_listeners:
                listener(session, row, old, latest)

    def close(self, session: Session, row: InstanceRow, status: str, actor: str, reason: str = "",
              workflow: BpmnWorkflow | None = None) -> None:
        old, row.status = row.status, status
        row.completed_at = clock.now()
        had_jobs, row.next_due_at = row.next_due_at is not None, None
        conn, params = session.connection(), {"b_instance": row.id}
        # What the saved projections hold (unknown without the loaded workflow: then clean all).
        before = getattr(workflow, SNAPSHOT_ATTR, None)
        # Also on completion: a terminate end event leaves other branches' tasks open.
        if before is None or before.user_tasks:
            conn.execute(_CANCEL_OPEN_TASKS, params)
        if had_jobs:  # next_due_at is the earliest waiting job: without it there is none
            conn.execute(_CANCEL_WAITING_JOBS, params)
        if before is None or before.subscriptions:
            conn.execute(_DROP_SUBSCRIPTIONS, params)
        if old == "incident":  # nothing is left to retry: it would stay open for ever in every count
            conn.execute(_RESOLVE_INCIDENTS, {**params, "b_at": row.completed_at, "b_by": actor})
        self.audit(session, row.id, actor, f"instance_{status}", None, old, status, {"reason": reason} if reason else None)

    # --- messages ----------------------------------------------------------------------------

    def deliver(self, workflow: BpmnWorkflow, task_id: str, name: str, payload: dict[str, Any]) -> bool:
        """Hand a message straight to the waiting task we routed it to (no Spiff correlation)."""
        from SpiffWorkflow.bpmn.util.event import BpmnEvent
        from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except TaskNotFoundException:
            return False  # the subscription outlived its task (it was consumed or compacted away)
        if task is None or not task.state & (TaskState.WAITING | TaskState.READY | TaskState.STARTED):
            return False
        definition = task.task_spec.event_definition
        event = BpmnEvent(MessageEventDefinition(name), payload=payload)
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
        # After _update: it merges the parent's (older) data into the task and would undo the payload.
        if getattr(definition, "message_var", None) is None and isinstance(payload, dict):
            task.set_data(**payload)
        return True

    # --- audit -------------------------------------------------------------------------------

    def audit(
        self, session: Session, instance_id: int | None, actor: str, action: str, element_id: str | None,
        old: Any, new: Any, details: dict[str, Any] | None = None,
    ) -> None:
        """Buffered in the session and written in one multi-row INSERT just before commit."""
        buffer_audit(session, {
            "instance_id": instance_id, "at": clock.now(), "actor": actor, "action": action,
            "element_id": element_id, "old": None if old is None else str(old),
            "new": None if new is None else str(new), "details": details,
        })


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=clock.UTC)


@contextmanager
def _busy_when_held(**details: Any) -> Iterator[None]:
    """A lock wait that timed out is the application being busy, not the database being down."""
    try:
        yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise Busy("Заявление сейчас изменяет другой запрос. Ничего не изменено — повторите через "
                       "несколько секунд.", **details) from exc
        raise
