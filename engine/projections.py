"""What a workflow is waiting for, read off the task tree after each step.

Rebuilt in the step's transaction: the worklist (ready user tasks), the timers the worker must
fire, and the messages the instance subscribes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState


@dataclass(frozen=True)
class LiveUserTask:
    task_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    task: Any


@dataclass(frozen=True)
class LiveTimer:
    task_id: str
    element_id: str
    due_at: datetime
    expression: str
    attached_to: str | None  # task id of the activity a boundary timer is attached to
    interrupting: bool


@dataclass(frozen=True)
class LiveSubscription:
    task_id: str
    element_id: str
    message_name: str


def properties(task_spec: Any) -> dict[str, str]:
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}) or {})


def all_tasks(workflow: BpmnWorkflow, state: int) -> list[Any]:
    """Tasks of the workflow and its subprocesses, each once.

    ``BpmnWorkflow.get_tasks`` already descends into subprocesses; listing them again gave
    duplicate worklist rows, timer jobs and subscriptions for tasks inside a subprocess.
    """
    # The task dictionaries, not get_tasks(): its tree iterator costs ~10x more per step.
    seen: dict[Any, Any] = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in wf.tasks.values():
            if task.state & state:
                seen.setdefault(task.id, task)
    return list(seen.values())


def user_tasks(workflow: BpmnWorkflow) -> list[LiveUserTask]:
    return [
        LiveUserTask(
            str(t.id),
            t.task_spec.bpmn_id or t.task_spec.name,
            t.task_spec.bpmn_name or t.task_spec.bpmn_id or t.task_spec.name,
            t.task_spec.lane,
            properties(t.task_spec),
            t,
        )
        for t in all_tasks(workflow, TaskState.READY)
        if t.task_spec.manual
    ]


def timer_due(task: Any) -> datetime | None:
    definition = task.task_spec.event_definition
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(definition, CycleTimerEventDefinition):
        value = value.get("next") if isinstance(value, dict) else None
        if value is None:
            return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = TimerEventDefinition.parse_time_or_duration(str(value))
        if not isinstance(parsed, datetime):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def timers(workflow: BpmnWorkflow) -> list[LiveTimer]:
    found = []
    for task in all_tasks(workflow, TaskState.WAITING):
        spec = task.task_spec
        definition = getattr(spec, "event_definition", None)
        if not isinstance(spec, CatchingEvent) or not isinstance(definition, TimerEventDefinition):
            continue
        due = timer_due(task)
        if due is None:
            continue
        attached = None
        parent = task.parent
        if parent is not None and len(parent.children) > 1:
            main = [c for c in parent.children if not isinstance(c.task_spec, CatchingEvent)]
            attached = str(main[0].id) if main else None
        found.append(
            LiveTimer(
                str(task.id),
                spec.bpmn_id or spec.name,
                due,
                definition.expression,
                attached,
                bool(getattr(spec, "cancel_activity", True)),
            )
        )
    return found


def subscriptions(workflow: BpmnWorkflow) -> list[LiveSubscription]:
    found = []
    for task in all_tasks(workflow, TaskState.WAITING | TaskState.READY | TaskState.STARTED):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, MessageEventDefinition) and isinstance(task.task_spec, CatchingEvent):
            found.append(LiveSubscription(str(task.id), task.task_spec.bpmn_id or task.task_spec.name, definition.name))
    return found
