"""SpiffWorkflow's ``do_engine_steps``, finding the ready tasks without walking the task tree.

``BpmnWorkflow.do_engine_steps`` runs rounds; each round asks ``get_tasks(state=READY)``, which
walks the whole tree — history included — with a ``TaskIterator`` that pops from the front of a
list and prepends every child list (quadratic in the tree's size). A step of the medical-book
submit runs about eight rounds. :func:`ready_tasks` gives the same tasks in the same order from
a scan of the flat ``tasks`` dicts of the workflow and of the subprocesses the walk descends into:
a READY task never sits under a predicted one (the iterator's only pruning), and depth-first
order is the order of the tasks' paths from the root, a subprocess's tree coming right after its
parent task. ``tests/test_engine_loop.py`` compares the two at every round of every scenario.

:func:`do_engine_steps` is the library's loop (SpiffWorkflow 3.2, ``bpmn/workflow.py``) with that
one call replaced; everything else — subprocesses deepest first, a round's list fixed when it
starts, timers refreshed at the end — is kept as it is there.

:func:`skip_idle_waiting_walks` does the same for the walk SpiffWorkflow makes after every
completed task (``update_waiting_tasks``, a tree walk for WAITING tasks): when no task of the
workflow waits — 240 of 250 calls in medical-book applications — the walk would find nothing
and update nothing, so it is not made. Otherwise the library's walk runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MethodType
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow


def _subprocesses_under(workflow: Any) -> list[Any]:
    """The subprocesses the tree walk descends into from ``workflow``: all of them from the top
    workflow; from a subprocess, those whose chain of parent tasks leads to it."""
    top = workflow.top_workflow
    if workflow is top:
        return list(top.subprocesses.values())
    found = []
    for sub in top.subprocesses.values():
        owner = sub
        while owner is not workflow and owner is not top:
            owner = top.get_task_from_id(owner.parent_task_id).workflow
        if owner is workflow and sub is not workflow:
            found.append(sub)
    return found


def _tree_position(task: Any, root: Any) -> list[int]:
    """The task's path from ``root``'s tree root; a subprocess's tree sits under its parent task,
    before that task's children (-1), as BpmnTaskIterator visits it."""
    path: list[int] = []
    while True:
        parent = task.parent
        while parent is not None:
            path.append(parent._children.index(task.id))
            task, parent = parent, parent.parent
        workflow = task.workflow
        if workflow is root or workflow is workflow.top_workflow:
            break
        path.append(-1)
        task = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
    path.reverse()
    return path


def ready_tasks(workflow: Any) -> list[Any]:
    """``workflow.get_tasks(state=TaskState.READY)``, same tasks, same order."""
    ready = [task for wf in (workflow, *_subprocesses_under(workflow)) for task in wf.tasks.values()
             if task._state == TaskState.READY]
    if len(ready) > 1:
        ready.sort(key=lambda task: _tree_position(task, workflow))
    return ready


def _run_round(workflow: Any, did_complete_task: Callable[[Any], None] | None) -> int:
    count = 0
    for task in ready_tasks(workflow):
        if not task.task_spec.manual:
            task.run()
            count += 1
            if did_complete_task is not None:
                did_complete_task(task)
    return count


def _engine_round(workflow: BpmnWorkflow, did_complete_task: Callable[[Any], None] | None) -> bool:
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda sp: sp.depth, reverse=True):
        while _run_round(subprocess, did_complete_task) > 0:
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    count = _run_round(workflow, did_complete_task)
    return count > 0 or len(workflow.get_active_subprocesses()) > len(active)


def do_engine_steps(workflow: BpmnWorkflow, did_complete_task: Callable[[Any], None] | None = None) -> None:
    """Run every ready engine task (scripts, service tasks, gateways, events) until none is left."""
    while _engine_round(workflow, did_complete_task):
        pass
    workflow.refresh_timers()


def update_waiting_tasks(workflow: Any) -> None:
    """``Workflow.update_waiting_tasks``, with the walk only when some task of ``workflow`` waits."""
    for task in workflow.tasks.values():
        if task._state == TaskState.WAITING:
            Workflow.update_waiting_tasks(workflow)
            return


def skip_idle_waiting_walks(workflow: BpmnWorkflow) -> None:
    """Install :func:`update_waiting_tasks` on ``workflow`` and its subprocesses (one started
    during a step keeps the library's method: slower, the same result)."""
    for each in (workflow, *workflow.subprocesses.values()):
        if "update_waiting_tasks" not in each.__dict__:
            each.update_waiting_tasks = MethodType(update_waiting_tasks, each)
