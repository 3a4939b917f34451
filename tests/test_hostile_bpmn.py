"""Hostile BPMN uploads: malformed XML, entity bombs, XXE, enormous files, mutated real diagrams.

`definitions.lint` must answer with problems (file, line, element, Russian message) and never
raise or crash into its own "internal error" fallback; `definitions.deploy` must either deploy
or raise DefinitionError. No entity is expanded, no file read, no URL fetched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from engine.bpmn_files import MAX_FILE_BYTES, DefinitionError, Problem
from tests.faults.hostile_xml import (
    Tripwire,
    deep,
    enormous,
    entity_attacks,
    mutated_bundle,
    random_diagram,
    xinclude_document,
)
from tests.faults.junk import FUZZ
from tests.faults.soak import require_soak
from tests.medflow_harness import deploy_processes, make_medflow

CASES: dict[str, int] = {}
PASSWD_MARK = "root:x:0:0"  # a line of /etc/passwd: must never show up anywhere


@pytest.fixture(scope="module")
def medflow(tmp_path_factory) -> Iterator:
    mf = make_medflow(tmp_path_factory.mktemp("hostile_bpmn"))
    deploy_processes(mf)
    try:
        yield mf
    finally:
        mf.db.dispose()


def _assert_reported(problems: object) -> list[Problem]:
    assert isinstance(problems, list) and problems, "hostile input passed lint without a problem"
    for problem in problems:
        assert isinstance(problem, Problem) and problem.file and problem.message.strip()
        assert "Внутренняя ошибка проверки" not in problem.message, f"lint crashed: {problem}"
        assert "Traceback" not in problem.message and PASSWD_MARK not in problem.message
    return problems


def _deploy(medflow, files: dict[str, bytes]) -> None:
    """Deploy lints first: refused with located problems, or deployed — nothing else."""
    try:
        medflow.definitions.deploy(files, actor="fuzz")
    except DefinitionError as refused:
        assert refused.problems and all(isinstance(p, Problem) and p.message for p in refused.problems)
        assert not any("Внутренняя ошибка проверки" in p.message for p in refused.problems), refused.problems


@settings(FUZZ, max_examples=1500)
@given(content=st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(str.encode)),
       name=st.sampled_from(["x.bpmn", "x.dmn", "x.BPMN"]))
def test_random_bytes_are_reported_not_raised(medflow, content: bytes, name: str):
    CASES["random"] = CASES.get("random", 0) + 1
    _assert_reported(medflow.definitions.lint({name: content}))
    with pytest.raises(DefinitionError):
        medflow.definitions.deploy({name: content})


def _fuzz_vocabulary(medflow, examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(content=random_diagram())
    def run(content: bytes) -> None:
        CASES["vocabulary"] = CASES.get("vocabulary", 0) + 1
        _deploy(medflow, {"random.bpmn": content})

    run()


def _fuzz_mutations(medflow, examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(case=mutated_bundle())
    def run(case: tuple[str, dict[str, bytes]]) -> None:
        CASES["mutations"] = CASES.get("mutations", 0) + 1
        _deploy(medflow, case[1])

    run()


def test_random_diagrams_from_bpmn_vocabulary_lint_or_deploy_cleanly(medflow):
    _fuzz_vocabulary(medflow, 150)


def test_mutations_of_the_real_processes_lint_or_deploy_cleanly(medflow):
    _fuzz_mutations(medflow, 40)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_soak_bpmn_fuzz_thousands_of_diagrams(medflow, request):
    require_soak(request)
    _fuzz_vocabulary(medflow, 3000)
    _fuzz_mutations(medflow, 1000)


@pytest.mark.parametrize("attack", ["billion_laughs", "quadratic_blowup", "xxe_file", "xxe_http", "xxe_parameter",
                                    "external_dtd", "utf7_doctype"])
def test_entity_attacks_are_refused_without_expanding_or_fetching(medflow, attack):
    tripwire = Tripwire()
    try:
        content = entity_attacks(tripwire.port)[attack]
        started = time.monotonic()
        problems = _assert_reported(medflow.definitions.lint({"hostile.bpmn": content}))
        with pytest.raises(DefinitionError):
            medflow.definitions.deploy({"hostile.bpmn": content})
        assert time.monotonic() - started < 5.0
        assert not tripwire.touched(), "the parser connected to a URL from the document"
    finally:
        tripwire.close()
    assert any("DOCTYPE" in p.message or "ENTITY" in p.message or "XML" in p.message for p in problems), problems
    assert "hostile" not in {d["process_key"] for d in medflow.queries.definitions()}


def test_xinclude_is_never_processed(medflow):
    content = xinclude_document()
    medflow.definitions.deploy({"xinclude.bpmn": content})  # harmless markup: it may deploy
    started = medflow.runtime.start("hostile_xinclude", {})
    inst = medflow.queries.instance(started["id"])
    assert PASSWD_MARK not in repr(inst)
    with medflow.db.read() as session:
        stored = " ".join(str(files) for (files,) in session.execute(text("SELECT files FROM bundles")).all())
    assert PASSWD_MARK not in stored


def test_enormous_and_deeply_nested_files_are_refused_quickly(medflow):
    for content, words in ((enormous(20 * 1024 * 1024), "слишком большой"), (deep(100_000), "глубина"),
                           (enormous(MAX_FILE_BYTES + 1), "слишком большой")):
        started = time.monotonic()
        problems = _assert_reported(medflow.definitions.lint({"big.bpmn": content}))
        assert time.monotonic() - started < 5.0
        assert any(words in p.message.lower() or "depth" in p.message.lower() for p in problems), problems
    # Just under the limit, well-formed: parsed and linted in bounded time, whatever the verdict.
    started = time.monotonic()
    medflow.definitions.lint({"big.bpmn": enormous(MAX_FILE_BYTES - 1024)})
    assert time.monotonic() - started < 10.0


def test_a_very_long_chain_of_tasks_is_a_problem_not_a_crash(medflow):
    from tests import bpmn_samples as b

    xml = b.bpmn(b.process("chain", *[b.script_task(f"t{i}", "x = 1") for i in range(3000)])).encode()
    _assert_reported(medflow.definitions.lint({"chain.bpmn": xml}))
    print("bpmn fuzz cases:", CASES)
