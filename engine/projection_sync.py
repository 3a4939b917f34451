"""Write the projections of one instance: worklist rows, timer jobs, message subscriptions.

The projections equal what the workflow waited for when it was last saved, so a step compares
the workflow as loaded (:func:`snapshot`) with the workflow after the step and writes only the
difference with plain SQL statements — no reading back of rows it can derive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.instance_row import InstanceRow
from engine.models import Job, MessageSubscription, UserTask
from engine.projections import LiveTimer, subscriptions, timers, user_tasks

Audit = Callable[..., None]
SNAPSHOT_ATTR = "_medflow_snapshot"

# Built once: building a statement cost more than running it (see engine.instance_row).
_INSTANCE = bindparam("b_instance")
_TASK_IDS = bindparam("b_tasks", expanding=True)
_CANCEL_TIMERS = (update(Job).where(Job.instance_id == _INSTANCE, Job.kind == "timer", Job.status == "waiting",
                                    Job.task_id.in_(_TASK_IDS)).values(status="cancelled"))
_INSERT_JOBS = insert(Job)
_TIMER_FIRED = (update(Job).where(Job.instance_id == _INSTANCE, Job.kind == "timer", Job.status == "waiting",
                                  Job.task_id == bindparam("b_task"))
                .values(status="done", fired_at=bindparam("b_fired_at"), lateness_ms=bindparam("b_lateness")))
_MOVE_TIMER = (update(Job).where(Job.instance_id == _INSTANCE, Job.task_id == bindparam("b_task"),
                                 Job.status == "waiting").values(due_at=bindparam("b_due_at")))
_NEXT_DUE = (select(Job.due_at).where(Job.instance_id == _INSTANCE, Job.status == "waiting")
             .order_by(Job.due_at).limit(1))
_OPEN_TASK_ELEMENTS = select(UserTask.id, UserTask.element_id).where(UserTask.id.in_(_TASK_IDS),
                                                                     UserTask.status == "open")
_CANCEL_TASKS = update(UserTask).where(UserTask.id.in_(_TASK_IDS), UserTask.status == "open").values(status="cancelled")
_INSERT_TASKS = insert(UserTask)
_DROP_SUBSCRIPTIONS = delete(MessageSubscription).where(MessageSubscription.instance_id == _INSTANCE,
                                                        MessageSubscription.task_id.in_(_TASK_IDS))
_INSERT_SUBSCRIPTIONS = insert(MessageSubscription)


@dataclass
class Snapshot:
    """What the saved projections say the instance waits for."""

    user_tasks: set[str] = field(default_factory=set)
    timers: dict[str, datetime] = field(default_factory=dict)
    subscriptions: set[tuple[str, str]] = field(default_factory=set)


def take_snapshot(workflow: BpmnWorkflow) -> Snapshot:
    snap = Snapshot(
        {t.task_id for t in user_tasks(workflow)},
        {t.task_id: t.due_at for t in timers(workflow)},
        {(s.task_id, s.message_name) for s in subscriptions(workflow)},
    )
    setattr(workflow, SNAPSHOT_ATTR, snap)
    return snap


def forget_user_task(workflow: BpmnWorkflow, task_id: str) -> None:
    """A task the command itself closed (completed) is not to be marked cancelled."""
    snap = getattr(workflow, SNAPSHOT_ATTR, None)
    if snap is not None:
        snap.user_tasks.discard(task_id)


def forget_timer(workflow: BpmnWorkflow, task_id: str) -> None:
    """A timer the command itself fired (and recorded) is not to be recorded again."""
    snap = getattr(workflow, SNAPSHOT_ATTR, None)
    if snap is not None:
        snap.timers.pop(task_id, None)


def record_fired_timers(session: Session, row: InstanceRow, workflow: BpmnWorkflow, audit: Audit, actor: str) -> None:
    """Timers that fell due and fired inside another command's step — a message or a task
    completed after the due time, before a worker came to it; or a second timer due in the step
    a worker fired the first in. Their jobs are done, not cancelled, and the audit log shows the
    timer fired, with its lateness, as when a worker fires it."""
    before: Snapshot | None = getattr(workflow, SNAPSHOT_ATTR, None)
    if before is None or not before.timers:
        return
    now = clock.now()
    for task_id, due_at in list(before.timers.items()):
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except TaskNotFoundException:
            continue
        if task is None or task.state != TaskState.COMPLETED:
            continue  # still waiting, or cancelled with the task it was attached to
        del before.timers[task_id]
        lateness_ms = int((now - due_at).total_seconds() * 1000)
        fired = session.connection().execute(_TIMER_FIRED, {"b_instance": row.id, "b_task": task_id,
                                                            "b_fired_at": now, "b_lateness": lateness_ms})
        if fired.rowcount:
            audit(session, row.id, "engine", "timer_fired", task.task_spec.bpmn_id, None, None,
                  {"due_at": due_at.isoformat(), "lateness_ms": lateness_ms, "during_step_of": actor})


def _evaluate_due(workflow: BpmnWorkflow, task: Any, expression: str) -> datetime | None:
    value = workflow.script_engine.evaluate(task, expression)
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = TimerEventDefinition.parse_time_or_duration(str(value))
        if not isinstance(parsed, datetime):
            parsed = clock.now() + TimerEventDefinition.get_timedelta_from_start(parsed, clock.now())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sync_projections(
    session: Session, row: InstanceRow, workflow: BpmnWorkflow, audit: Audit, new_jobs: bool = False
) -> None:
    if row.status in ("completed", "cancelled"):
        return  # InstanceStore.close() has closed every projection row already
    before: Snapshot = getattr(workflow, SNAPSHOT_ATTR, None) or Snapshot()
    now = clock.now()
    live_timers = timers(workflow)
    _sync_timers(session, row, before, live_timers, now, new_jobs)
    _sync_user_tasks(session, row, workflow, before, live_timers, now, audit)
    _sync_subscriptions(session, row, workflow, before, now)
    take_snapshot(workflow)


def _sync_timers(
    session: Session, row: InstanceRow, before: Snapshot, live: list[LiveTimer], now: datetime, new_jobs: bool
) -> None:
    live_by_id = {t.task_id: t for t in live}
    gone = [task_id for task_id in before.timers if task_id not in live_by_id]
    if gone:
        session.connection().execute(_CANCEL_TIMERS, {"b_instance": row.id, "b_tasks": gone})
    added = [t for t in live if t.task_id not in before.timers]
    if added:
        session.connection().execute(_INSERT_JOBS, [
            {"instance_id": row.id, "kind": "timer", "task_id": t.task_id, "element_id": t.element_id,
             "due_at": t.due_at, "expression": t.expression, "calendar": "ru", "status": "waiting",
             "attempts": 0, "created_at": now}
            for t in added
        ])
    moved = False
    for timer in live:
        previous = before.timers.get(timer.task_id)
        if previous is not None and previous != timer.due_at:  # a cycle timer moved on
            moved = True
            session.connection().execute(_MOVE_TIMER, {"b_instance": row.id, "b_task": timer.task_id,
                                                       "b_due_at": timer.due_at})
    if added and len(added) == len(live) and row.next_due_at is None and not (gone or moved or new_jobs):
        # next_due_at is the earliest waiting job, so nothing waited before this step: the waiting
        # jobs are the ones just inserted. Saves reading them back on every first timer.
        row.next_due_at = min(t.due_at for t in added)
    elif gone or added or new_jobs or live or row.next_due_at is not None:
        session.flush()
        row.next_due_at = session.connection().scalar(_NEXT_DUE, {"b_instance": row.id})


def _sync_user_tasks(
    session: Session, row: InstanceRow, workflow: BpmnWorkflow, before: Snapshot, live_timers: list[LiveTimer],
    now: datetime, audit: Audit,
) -> None:
    live = user_tasks(workflow)
    live_ids = {t.task_id for t in live}
    gone = sorted(before.user_tasks - live_ids)
    if gone:
        elements = dict(session.connection().execute(_OPEN_TASK_ELEMENTS, {"b_tasks": gone}).all())
        session.connection().execute(_CANCEL_TASKS, {"b_tasks": gone})
        for task_id, element_id in elements.items():
            audit(session, row.id, "engine", "task_cancelled", element_id, None, None, {"task_id": task_id})
    rows = []
    for item in live:
        if item.task_id in before.user_tasks:
            continue
        props = item.properties
        if props.get("dueDate"):
            try:
                due = _evaluate_due(workflow, item.task, props["dueDate"])
            except Exception as exc:  # a wrong due date must not stop the task from being worked on
                due = None
                audit(session, row.id, "engine", "due_date_invalid", item.element_id, props["dueDate"],
                      None, {"error": f"{type(exc).__name__}: {exc}"})
        else:
            boundary = [t.due_at for t in live_timers if t.attached_to == item.task_id and t.interrupting]
            due = min(boundary) if boundary else None
        rows.append({
            "id": item.task_id, "instance_id": row.id, "business_key": row.business_key,
            "process_key": row.process_key, "element_id": item.element_id, "name": item.name,
            "candidate_group": props.get("candidateGroups") or item.lane, "assignee": None,
            "form_schema": props.get("formJsonSchemaFilename"), "form_ui_schema": props.get("formUiSchemaFilename"),
            "status": "open", "due_at": due, "created_at": now,
        })
        audit(session, row.id, "engine", "task_created", item.element_id, None, item.name,
              {"task_id": item.task_id, "due_at": due.isoformat() if due else None})
    if rows:
        session.connection().execute(_INSERT_TASKS, rows)


def _sync_subscriptions(
    session: Session, row: InstanceRow, workflow: BpmnWorkflow, before: Snapshot, now: datetime
) -> None:
    live = {(s.task_id, s.message_name): s for s in subscriptions(workflow)}
    gone = [task_id for task_id, _name in before.subscriptions - set(live)]
    if gone:
        session.connection().execute(_DROP_SUBSCRIPTIONS, {"b_instance": row.id, "b_tasks": gone})
    added = [s for key, s in live.items() if key not in before.subscriptions]
    if added:
        session.connection().execute(_INSERT_SUBSCRIPTIONS, [
            {"instance_id": row.id, "business_key": row.business_key, "message_name": s.message_name,
             "task_id": s.task_id, "element_id": s.element_id, "created_at": now}
            for s in added
        ])
