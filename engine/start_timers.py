"""Timer start events: a deployed process whose start event is a timer starts instances on time.

SpiffWorkflow only knows timers inside an instance, so a timer start event is scheduled here:
deploying a version cancels the previous version's start jobs and schedules the new one's first
start; the worker fires it by creating an instance (whose start event is marked as fired, so
it does not wait a second time) and, for a cycle ``R<n>/<start>/<period>``, schedules the next.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from engine import clock
from engine.models import Definition, Job
from engine.parsing import ParsedBundle
from engine.script_engine import TimeHelpers

FOREVER = -1


def start_timer(spec: Any) -> tuple[str, TimerEventDefinition] | None:
    """(element id, timer definition) of the process's timer start event, if it has one."""
    for event in getattr(spec, "bpmn_start_events", []) or []:
        definition = getattr(event, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            return event.bpmn_id or event.name, definition
    return None


def first_start(definition: TimerEventDefinition, helpers: TimeHelpers) -> tuple[datetime, dict[str, Any]]:
    """When the first instance starts, and the cycle state to carry to the next one."""
    namespace = helpers.namespace()
    value = eval(definition.expression, namespace)  # noqa: S307 - restricted namespace, checked by lint
    now = clock.now()
    if isinstance(definition, CycleTimerEventDefinition):
        cycles, start, period = TimerEventDefinition.parse_iso_recurring_interval(str(value))
        return start, {"cycles": cycles, "seconds": period.total_seconds()}
    if isinstance(value, datetime):
        return value, {"cycles": 1, "seconds": 0}
    if isinstance(definition, DurationTimerEventDefinition):
        parsed = TimerEventDefinition.parse_iso_duration(str(value))
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now), {"cycles": 1, "seconds": 0}
    return TimerEventDefinition.get_datetime(str(value)), {"cycles": 1, "seconds": 0}


def schedule_on_deploy(session: Session, definition: Definition, bundle: ParsedBundle, helpers: TimeHelpers) -> None:
    """A new version replaces the start schedule of the previous one."""
    conn = session.connection()
    conn.execute(
        update(Job)
        .where(Job.kind == "start", Job.process_key == definition.process_key, Job.status == "waiting")
        .values(status="cancelled")
    )
    spec, _ = bundle.spec_for(definition.process_key)
    found = start_timer(spec)
    if found is None:
        return
    element_id, timer = found
    due, payload = first_start(timer, helpers)
    _insert_start_job(session, definition.process_key, element_id, timer.expression, due, payload)


def _insert_start_job(
    session: Session, process_key: str, element_id: str, expression: str, due: datetime, payload: dict[str, Any]
) -> None:
    session.connection().execute(insert(Job).values(
        instance_id=None, process_key=process_key, kind="start", task_id="", element_id=element_id,
        due_at=due, expression=expression, calendar="ru", status="waiting", attempts=0, payload=payload,
        created_at=clock.now(),
    ))


def schedule_next(session: Session, job: Any) -> None:
    """After a cycle's start fired: the next one, while cycles remain."""
    payload = dict(job.payload or {})
    cycles = int(payload.get("cycles", 1))
    remaining = cycles if cycles == FOREVER else cycles - 1
    if remaining == 0 or not payload.get("seconds"):
        return
    due = job.due_at + timedelta(seconds=float(payload["seconds"]))
    _insert_start_job(session, job.process_key, job.element_id, job.expression, due,
                      {**payload, "cycles": remaining})


def mark_start_fired(workflow: BpmnWorkflow) -> None:
    """The instance exists because its start timer fired: its start event must not wait again."""
    found = start_timer(workflow.spec)
    if found is None:
        return
    element_id, timer = found
    past = (clock.now() - timedelta(seconds=1)).isoformat()
    for task in workflow.tasks.values():
        if task.task_spec.bpmn_id == element_id:
            if isinstance(timer, CycleTimerEventDefinition):
                task.internal_data["event_value"] = {"cycles": 1, "next": past, "duration": 0.0}
            else:
                task.internal_data["event_value"] = past
