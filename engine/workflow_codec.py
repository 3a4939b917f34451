"""Saving and loading workflows: spec by reference, extra data types, compacted history.

The spec is not stored with the instance: the instance row names its definition, the definition
names the bundle, and the parsed bundle is cached by hash. Loading therefore skips rebuilding the
spec — the serialized state holds only tasks and data.

SpiffWorkflow keeps every completed task forever, so a loop grows the task tree (and the
iterator stops at depth 1000). :func:`compact` splices finished tasks out of the tree while
keeping everything the library still reads: the direct parent of every live task (joins and
boundary events look at ``task.parent``), tasks with several children (splits), and the finished
tasks of a join that is still waiting. History lives in the audit table, not here.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

_specs = threading.local()


class _ByReferenceWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        from uuid import UUID

        spec, subprocess_specs = _specs.current
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _ByReferenceWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Plain dates and decimals appear in form data; without these, serialize_json fails.
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _build_serializer()


def dumps(workflow: BpmnWorkflow) -> str:
    return _SERIALIZER.serialize_json(workflow)


def loads(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    _specs.current = (spec, subprocess_specs)
    try:
        dct = json.loads(state)
        _SERIALIZER.migrate(dct)
        return _SERIALIZER.from_dict(dct)
    finally:
        _specs.current = None


def to_jsonable(value: Any) -> Any:
    """Task data as plain JSON (dates as ISO strings) for APIs and projections."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED


def compact(workflow: BpmnWorkflow) -> int:
    """Remove finished history from the task trees; returns how many tasks were dropped."""
    removed = 0
    finished_subprocesses = [
        task_id
        for task_id, sp in workflow.subprocesses.items()
        if sp.completed and _finished(workflow.get_task_from_id(task_id))
    ]
    for task_id in finished_subprocesses:
        # Outputs were copied into the calling task when the subprocess completed.
        if task_id in workflow.subprocesses:
            removed += len(workflow.delete_subprocess(workflow.get_task_from_id(task_id)))
    for wf in [workflow, *workflow.subprocesses.values()]:
        removed += _compact_tree(wf)
    return removed


def _finished(task: Any) -> bool:
    return task is not None and bool(task.state & _FINISHED)


def _join_still_counts(task: Any, live_specs: set[Any]) -> bool:
    """A finished task of a parallel/inclusive join that is still waiting is read by that join."""
    spec = task.task_spec
    return isinstance(spec, Join) and not isinstance(spec, BoundaryEventJoin) and spec in live_specs


def _compact_tree(wf: Any) -> int:
    root = wf.task_tree
    subprocess_ids = wf.top_workflow.subprocesses
    live_specs = {t.task_spec for t in wf.tasks.values() if not t.state & TaskState.FINISHED_MASK}
    removed, changed = 0, True
    while changed:
        changed = False
        for task in list(wf.tasks.values()):
            if task.id not in wf.tasks:
                continue
            parent = task.parent
            if task is root or parent is None or parent is root or not _finished(task) or task.id in subprocess_ids:
                continue
            if not task._children:
                if _join_still_counts(task, live_specs):
                    continue
                parent._children.remove(task.id)
            elif len(task._children) == 1:
                child = wf.tasks[task._children[0]]
                if not _finished(child) or _join_still_counts(child, live_specs):
                    continue
                parent._children[parent._children.index(task.id)] = child.id
                child._parent = parent.id
            else:
                continue
            del wf.tasks[task.id]
            removed += 1
            changed = True
    return removed
