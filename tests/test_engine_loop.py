"""engine.engine_loop finds the ready tasks SpiffWorkflow's tree walk finds, in the same order.

Every scenario of every procedure (parallel branches, call activities, boundary events, loops)
runs with a ready_tasks that compares itself with ``get_tasks(state=READY)`` at every round.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import engine_loop
from handlers.scenarios.runner import run_scenario
from tests.conftest import DIAGRAMS
from tests.medflow_harness import deploy_processes, make_medflow

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "processes" / "scenarios").glob("*.yaml"))


@pytest.fixture()
def compared(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    rounds: list[int] = []
    fast = engine_loop.ready_tasks

    def checked(workflow):  # type: ignore[no-untyped-def]
        found = fast(workflow)
        assert [t.id for t in found] == [t.id for t in workflow.get_tasks(state=TaskState.READY)]
        rounds.append(len(found))
        return found

    monkeypatch.setattr(engine_loop, "ready_tasks", checked)
    return rounds


def _failed_scenarios(tmp_path: Path) -> list[str]:
    """Run every scenario, each on a fresh database (scenarios expect their own numbers)."""
    failed = []
    for path in SCENARIOS:
        medflow = make_medflow(tmp_path / path.stem)
        deploy_processes(medflow)
        try:
            report = run_scenario(medflow, path)
        finally:
            medflow.db.dispose()
        failed += [] if report.ok else [report.text()]
    return failed


def test_every_scenario_sees_the_same_ready_tasks(tmp_path: Path, compared: list[int]) -> None:
    assert _failed_scenarios(tmp_path) == []
    assert len(compared) > 500 and max(compared) > 1  # rounds with several ready tasks were compared


def test_call_activity_and_parallel_wait_see_the_same_ready_tasks(medflow, sim_clock, compared: list[int]) -> None:
    started = medflow.runtime.start("fee_parent", {"copies": 2, "applicant": "Петров"})
    assert medflow.queries.instance(started["id"])["data"]["fee"] == 500  # the call came back
    parallel = medflow.runtime.start("faults_parallel_wait", {})
    sim_clock.advance(timedelta(hours=2))
    (job_id,) = medflow.runtime.claim_due_jobs("w1", 100, 60)
    assert medflow.runtime.fire_job(job_id, "w1") is True
    medflow.runtime.send_message("extra_docs", parallel["business_key"], {"docs": 3}, "applicant")
    assert medflow.queries.instance(parallel["id"])["status"] == "completed"
    assert compared  # every round of the three commands was compared


def _all_workflows(workflow):  # type: ignore[no-untyped-def]
    return [workflow, *workflow.subprocesses.values()]


def test_ready_tasks_inside_a_call_activity_match_the_tree_walk_at_every_state() -> None:
    # Plain SpiffWorkflow, one task at a time: states where the called process's tasks are ready
    # while the top workflow is asked, which MedFlow's rounds (deepest first) never produce.
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(DIAGRAMS / "call_activity.bpmn")])
    workflow = BpmnWorkflow(parser.get_spec("fee_parent"), parser.get_subprocess_specs("fee_parent"))
    workflow.get_tasks(state=TaskState.READY)[0].set_data(copies=2, applicant="Петров")
    seen_inside = False
    for _ in range(100):
        for wf in _all_workflows(workflow):
            assert [t.id for t in engine_loop.ready_tasks(wf)] == [t.id for t in wf.get_tasks(state=TaskState.READY)]
        ready = workflow.get_tasks(state=TaskState.READY)
        seen_inside |= any(t.workflow is not workflow for t in ready)
        if not ready:
            break
        ready[0].run()
    assert workflow.is_completed() and workflow.data["fee"] == 500
    assert seen_inside  # the case the test is for happened


def test_a_skipped_waiting_walk_would_have_found_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scenario runs with an update_waiting_tasks that, whenever it skips the library's walk,
    checks that the walk would have found no WAITING task; both the skip and the walk happen."""
    from SpiffWorkflow.util.task import TaskIterator
    from SpiffWorkflow.workflow import Workflow

    counted = {"skipped": 0, "walked": 0}
    fast = engine_loop.update_waiting_tasks
    walked: list[object] = []

    class LibraryWalk:  # engine_loop's fallback, recorded
        @staticmethod
        def update_waiting_tasks(workflow):  # type: ignore[no-untyped-def]
            walked.append(workflow)
            Workflow.update_waiting_tasks(workflow)

    def checked(workflow):  # type: ignore[no-untyped-def]
        would_find = list(TaskIterator(workflow.task_tree, state=TaskState.WAITING))
        walked.clear()
        fast(workflow)
        counted["walked" if walked else "skipped"] += 1
        if not walked:
            assert would_find == []

    monkeypatch.setattr(engine_loop, "Workflow", LibraryWalk)
    monkeypatch.setattr(engine_loop, "update_waiting_tasks", checked)
    assert _failed_scenarios(tmp_path) == []
    assert counted["skipped"] > 500 and counted["walked"] > 20
