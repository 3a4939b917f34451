"""Running engine steps until every branch waits, turning failures into BPMN paths, retries
or incidents instead of exceptions.

A failing task is handled in this order:
1. an error boundary event on the task that catches the error's code: the error path runs;
2. a service task: the task is parked (ERROR state, so the engine does not run it again) and a
   retry job is scheduled with back-off; when retries run out it becomes an incident;
3. anything else (a script or expression that fails): an incident at once — running the same
   code again cannot succeed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.engine_loop import do_engine_steps
from engine.script_engine import HandlerFailure

ATTEMPTS_KEY = "medflow_attempts"
MAX_FAILURES_PER_STEP = 100


@dataclass
class Failure:
    task_id: str
    element_id: str
    handler: str | None
    error: str
    attempts: int
    retry_at: datetime | None  # None: an incident


@dataclass
class StepReport:
    completed: list[Any] = field(default_factory=list)  # tasks completed by the engine
    failures: list[Failure] = field(default_factory=list)
    caught_errors: list[tuple[str, str]] = field(default_factory=list)  # (element_id, code)


def _failing_task(workflow: BpmnWorkflow, exc: BaseException) -> Any:
    task = getattr(exc, "task", None)
    if task is not None:
        return task
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "task", None) if cause else None


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, HandlerFailure):
        return exc.code or type(exc.original).__name__
    return type(exc).__name__


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, HandlerFailure):
        return str(exc)
    if isinstance(exc, SpiffWorkflowException):
        original = getattr(exc, "exception", None)
        base = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"{base}: {type(original).__name__}: {original}" if original else base
    return f"{type(exc).__name__}: {exc}"


def _catching_boundary(task: Any, code: str) -> Any:
    parent = task.parent
    if parent is None:
        return None
    for sibling in parent.children:
        spec = sibling.task_spec
        if sibling is task or not isinstance(spec, CatchingEvent):
            continue
        definition = getattr(spec, "event_definition", None)
        catches = isinstance(definition, ErrorEventDefinition) and definition.code in (None, "", code)
        if catches and sibling.state == TaskState.WAITING:
            return sibling
    return None


def run_steps(
    workflow: BpmnWorkflow, now: datetime, retry_delays: list[int], task_delays: dict[str, list[int]] | None = None
) -> StepReport:
    """``do_engine_steps`` until nothing is runnable; failures handled as the module says."""
    report = StepReport()

    def completed(task: Any) -> None:
        report.completed.append(task)

    for _ in range(MAX_FAILURES_PER_STEP):
        try:
            do_engine_steps(workflow, did_complete_task=completed)
            return report
        except Exception as exc:  # every failure is turned into a path, a retry or an incident
            task = _failing_task(workflow, exc)
            if task is None:
                raise
            _handle_failure(workflow, task, exc, now, retry_delays, task_delays or {}, report)
    raise RuntimeError("слишком много ошибок подряд в одном шаге процесса")


def _handle_failure(
    workflow: BpmnWorkflow,
    task: Any,
    exc: BaseException,
    now: datetime,
    retry_delays: list[int],
    task_delays: dict[str, list[int]],
    report: StepReport,
) -> None:
    code = _error_code(exc)
    boundary = _catching_boundary(task, code)
    text = _error_text(exc)
    element_id = task.task_spec.bpmn_id or task.task_spec.name
    if boundary is not None:
        task._set_state(TaskState.ERROR)
        payload = {"code": code, "message": text, "element": element_id}
        boundary.task_spec.event_definition.update_task_data = lambda t: None  # keep data as is
        event = BpmnEvent(ErrorEventDefinition(name=code, code=code), payload=payload, target=task.workflow)
        boundary.data["error"] = payload
        boundary.task_spec.catch(boundary, event)
        boundary.task_spec._update(boundary)
        task._set_state(TaskState.CANCELLED)
        report.caught_errors.append((element_id, code))
        return
    task._set_state(TaskState.ERROR)
    handler = exc.handler if isinstance(exc, HandlerFailure) else None
    attempts = int(task.internal_data.get(ATTEMPTS_KEY, 0)) + 1
    task.internal_data[ATTEMPTS_KEY] = attempts
    policy = _task_policy(task.task_spec)
    delays = task_delays.get(element_id) or (policy if policy is not None else retry_delays)
    retry_at = None
    if isinstance(task.task_spec, ServiceTask) and not getattr(exc, "code", None) and attempts <= len(delays):
        retry_at = now + timedelta(seconds=delays[attempts - 1])
    report.failures.append(Failure(str(task.id), element_id, handler, text, attempts, retry_at))


def _task_policy(spec: Any) -> list[int] | None:
    """``<spiffworkflow:retry retries="N" backoff_base="B"/>`` on a service task operator.

    SpiffWorkflow parses it but never acts on it; here retry k (1-based) waits B × 2^(k-1)
    seconds (B defaults to 10), and ``retries="0"`` means an incident at the first failure.
    """
    retries = getattr(spec, "retries", None)
    if retries is None:
        return None
    base = getattr(spec, "retry_backoff_base", None) or 10
    return [int(base * 2 ** k) for k in range(int(retries))] or []


def reactivate(workflow: BpmnWorkflow, task_id: str, reset_attempts: bool) -> Any:
    """Put a parked (ERROR) task back to READY so the next engine step runs it again."""
    from uuid import UUID

    task = workflow.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.ERROR:
        return None
    if reset_attempts:
        task.internal_data.pop(ATTEMPTS_KEY, None)
    task._set_state(TaskState.READY)
    return task
