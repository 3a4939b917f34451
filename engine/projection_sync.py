"""Write the projections of one instance: worklist rows, timer jobs, message subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.models import Instance, Job, MessageSubscription, UserTask
from engine.projections import subscriptions, timers, user_tasks

Audit = Callable[..., None]


def _evaluate_due(workflow: BpmnWorkflow, task: Any, expression: str) -> datetime | None:
    value = workflow.script_engine.evaluate(task, expression)
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = TimerEventDefinition.parse_time_or_duration(str(value))
        if not isinstance(parsed, datetime):
            parsed = clock.now() + TimerEventDefinition.get_timedelta_from_start(parsed, clock.now())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sync_projections(session: Session, row: Instance, workflow: BpmnWorkflow, audit: Audit) -> None:
    now = clock.now()
    live_timers = timers(workflow) if row.status not in ("completed", "cancelled") else []
    _sync_timers(session, row, live_timers, now)
    if row.status in ("completed", "cancelled"):
        return
    _sync_user_tasks(session, row, workflow, live_timers, now, audit)
    session.query(MessageSubscription).filter(MessageSubscription.instance_id == row.id).delete()
    for sub in subscriptions(workflow):
        session.add(MessageSubscription(instance_id=row.id, business_key=row.business_key,
                                        message_name=sub.message_name, task_id=sub.task_id,
                                        element_id=sub.element_id, created_at=now))


def _sync_timers(session: Session, row: Instance, live: list[Any], now: datetime) -> None:
    if not live and row.next_due_at is None and not any(isinstance(o, Job) for o in session.new):
        return  # nothing waited before and nothing waits now: spare the queries
    existing = {
        job.task_id: job
        for job in session.scalars(
            select(Job).where(Job.instance_id == row.id, Job.status == "waiting", Job.kind == "timer")
        )
    }
    live_ids = {t.task_id for t in live}
    for task_id, job in existing.items():
        if task_id not in live_ids:
            job.status = "cancelled"
    for timer in live:
        job = existing.get(timer.task_id)
        if job is None:
            session.add(Job(instance_id=row.id, kind="timer", task_id=timer.task_id, element_id=timer.element_id,
                            due_at=timer.due_at, expression=timer.expression, calendar="ru", status="waiting",
                            attempts=0, created_at=now))
        elif job.due_at != timer.due_at:
            job.due_at = timer.due_at  # a cycle timer moved on
    session.flush()
    row.next_due_at = session.scalar(
        select(Job.due_at).where(Job.instance_id == row.id, Job.status == "waiting").order_by(Job.due_at).limit(1)
    )


def _sync_user_tasks(
    session: Session, row: Instance, workflow: BpmnWorkflow, live_timers: list[Any], now: datetime, audit: Audit
) -> None:
    existing = {
        task.id: task
        for task in session.scalars(select(UserTask).where(UserTask.instance_id == row.id, UserTask.status == "open"))
    }
    live = user_tasks(workflow)
    live_ids = {t.task_id for t in live}
    for task_id, task in existing.items():
        if task_id not in live_ids:
            task.status = "cancelled"
            audit(session, row.id, "engine", "task_cancelled", task.element_id, None, None, {"task_id": task_id})
    for item in live:
        if item.task_id in existing:
            continue
        props = item.properties
        due = None
        if props.get("dueDate"):
            due = _evaluate_due(workflow, item.task, props["dueDate"])
        else:
            boundary = [t.due_at for t in live_timers if t.attached_to == item.task_id and t.interrupting]
            due = min(boundary) if boundary else None
        session.add(UserTask(
            id=item.task_id, instance_id=row.id, business_key=row.business_key, process_key=row.process_key,
            element_id=item.element_id, name=item.name,
            candidate_group=props.get("candidateGroups") or item.lane,
            assignee=None, form_schema=props.get("formJsonSchemaFilename"),
            form_ui_schema=props.get("formUiSchemaFilename"), status="open", due_at=due, created_at=now,
        ))
        audit(session, row.id, "engine", "task_created", item.element_id, None, item.name,
              {"task_id": item.task_id, "due_at": due.isoformat() if due else None})
