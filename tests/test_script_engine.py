"""Expressions and scripts are compiled once per process and behave as eval()/exec() of the text."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine import script_engine
from engine.script_engine import _CompiledEnvironment
from tests.medflow_harness import deploy_processes, make_medflow


def test_an_expression_is_compiled_once_and_evaluated_like_eval():
    script_engine._code.cache_clear()
    environment = _CompiledEnvironment({"limit": 3})
    assert environment.evaluate("  amount + limit", {"amount": 2}) == 5  # eval() strips leading blanks too
    assert environment.evaluate("  amount + limit", {"amount": 10}) == 13
    info = script_engine._code.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_failing_script_still_reports_its_line(tmp_path):
    medflow = make_medflow(tmp_path)
    deploy_processes(medflow)
    started = medflow.runtime.start("medbook_issuance", {}, actor="ivanova")
    with medflow.db.read() as session:
        workflow = medflow.store.load(session, medflow.store.lock(session, started["id"]), for_reading=True)
    task = workflow.get_tasks()[0]
    engine = PythonScriptEngine(environment=_CompiledEnvironment({}))
    with pytest.raises(WorkflowTaskException) as caught:
        engine.execute(task, "total = 1\nshare = total / 0\n")
    assert (caught.value.line_number, caught.value.error_line) == (2, "share = total / 0")
    with pytest.raises(WorkflowTaskException) as syntax:
        engine.execute(task, "total = 1\nshare = (\n")
    assert syntax.value.line_number == 2
