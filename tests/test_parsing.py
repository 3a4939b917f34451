"""parse_bundle: specs for a clean bundle, and located Problems for every kind of broken one."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.parsing import DefinitionError, Problem, analyse_bundle, parse_bundle
from tests.bpmn_samples import (
    bpmn,
    business_rule_task,
    call_activity,
    dmn,
    line_of,
    process,
    script_task,
    task,
    user_task,
)

MAIN = bpmn(
    process(
        "medbook", script_task("prepare", 'kind = "new"'), business_rule_task("fee", "fees"),
        call_activity("call_check", "check"), user_task("review", "review.schema.json", "review.uischema.json"),
        name="Медицинская книжка",
    ),
    process("draft", task("sketch"), executable=False),
)
CHECK = bpmn(process("check", task("StartEvent_1"), name="Проверка"))


def files(**extra: str) -> dict[str, bytes]:
    bundle = {"medbook.bpmn": MAIN, "sub/check.bpmn": CHECK, "decisions/fees.dmn": dmn("fees"), **extra}
    return {name: text.encode() for name, text in bundle.items()}


def problems_of(bundle: dict[str, bytes]) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        parse_bundle(bundle)
    return caught.value.problems


def test_problem_str_and_dict() -> None:
    problem = Problem("a.bpmn", None, None, "плохо")
    assert str(problem) == "a.bpmn:0: -: плохо"
    assert str(Problem("a.bpmn", 7, "t1", "плохо")) == "a.bpmn:7: t1: плохо"
    assert problem.to_dict() == {"file": "a.bpmn", "line": None, "element_id": None, "message": "плохо"}


def test_definition_error_joins_problem_lines() -> None:
    error = DefinitionError([Problem("a.bpmn", 1, "x", "один"), Problem("b.bpmn", 2, None, "два")])
    assert str(error) == "a.bpmn:1: x: один\nb.bpmn:2: -: два"
    assert len(error.problems) == 2


def test_clean_bundle_gives_keys_names_and_specs() -> None:
    bundle = parse_bundle(files())
    assert sorted(bundle.process_keys()) == ["check", "medbook"]
    assert bundle.skipped_process_keys() == ["draft"]
    assert bundle.process_names() == {"medbook": "Медицинская книжка", "check": "Проверка"}
    spec, subprocesses = bundle.spec_for("medbook")
    assert spec.name == "medbook" and spec.file == "medbook.bpmn"
    assert set(subprocesses) == {"check"}
    assert subprocesses["check"].file == "sub/check.bpmn"


def test_specs_run_including_call_activity_and_decision_table() -> None:
    spec, subprocesses = parse_bundle(files()).spec_for("medbook")
    workflow = BpmnWorkflow(spec, subprocesses)
    seen = []
    for _ in range(10):  # bpmn:task and bpmn:userTask both wait for a person
        workflow.do_engine_steps()
        ready = workflow.get_tasks(state=TaskState.READY)
        if not ready:
            break
        seen += [(t.task_spec.name, t.data.get("fee")) for t in ready]
        for ready_task in ready:
            ready_task.run()
    assert workflow.is_completed()
    assert seen == [("StartEvent_1", 500), ("review", 500)]


def test_spec_for_unknown_or_skipped_key_raises_key_error() -> None:
    bundle = parse_bundle(files())
    with pytest.raises(KeyError):
        bundle.spec_for("draft")
    with pytest.raises(KeyError):
        bundle.spec_for("nothing")


def test_element_index_and_locate_prefer_the_given_file() -> None:
    bundle = parse_bundle(files())
    index = bundle.element_index()
    assert index["review"] == ("medbook.bpmn", line_of(MAIN, 'id="review"'))
    assert index["fees"][0] == "decisions/fees.dmn"
    assert "check" not in index or index["check"][0] == "sub/check.bpmn"  # handler names are not elements
    assert bundle.locate("StartEvent_1", "sub/check.bpmn") == ("sub/check.bpmn", line_of(CHECK, 'id="StartEvent_1"'))
    assert bundle.locate("missing") is None


def test_user_task_forms_come_from_spiff_properties() -> None:
    bundle = parse_bundle(files())
    assert bundle.user_task_forms() == [("medbook", "review", "review.schema.json", "review.uischema.json")]


def test_files_other_than_bpmn_and_dmn_are_ignored() -> None:
    bundle = parse_bundle({**files(), "forms/review.schema.json": b"{not json"})
    assert "medbook" in bundle.process_keys()


def test_xml_syntax_error_has_line() -> None:
    broken = MAIN.replace('<bpmn:task id="sketch"', '<bpmn:task id="sketch"<', 1)
    [problem] = problems_of(files() | {"medbook.bpmn": broken.encode()})
    assert problem.file == "medbook.bpmn"
    assert problem.line == line_of(broken, 'id="sketch"<')
    assert "синтаксиса XML" in problem.message


def test_xsd_error_has_line_and_element_id() -> None:
    text = bpmn(process("p", task("t1"))).replace('<bpmn:task id="t1"', '<bpmn:taskk id="t1"')
    problems = problems_of({"p.bpmn": text.encode()})
    assert problems[0] == Problem("p.bpmn", line_of(text, "<bpmn:taskk"), "t1", problems[0].message)
    assert "XSD" in problems[0].message and "bpmn:taskk" in problems[0].message


def test_parser_validation_error_is_located_by_element_id() -> None:
    text = bpmn(process("p", task("t1"))).replace("<bpmn:task ", "<bpmn:serviceTask ")
    [problem] = problems_of({"p.bpmn": text.encode()})
    assert (problem.file, problem.line, problem.element_id) == ("p.bpmn", line_of(text, 'id="t1"'), "t1")
    assert "обработчик" in problem.message and "Traceback" not in problem.message


def test_missing_called_process_is_reported_at_the_call_activity() -> None:
    text = bpmn(process("p", call_activity("call", "nowhere")))
    [problem] = problems_of({"p.bpmn": text.encode()})
    assert problem == Problem("p.bpmn", line_of(text, 'id="call"'), "call", "Вызываемый процесс «nowhere» не найден в наборе")


def test_missing_decision_is_reported_once_at_the_task() -> None:
    text = bpmn(process("p", business_rule_task("rule", "nothing")))
    [problem] = problems_of({"p.bpmn": text.encode()})
    assert (problem.line, problem.element_id) == (line_of(text, 'id="rule"'), "rule")
    assert "«nothing»" in problem.message


def test_duplicate_process_id_across_files() -> None:
    text = bpmn(process("p", task("t1")))
    problems = problems_of({"a.bpmn": text.encode(), "b.bpmn": text.encode()})
    assert any(p.file == "b.bpmn" and p.element_id == "p" and "уже есть" in p.message for p in problems)


def test_no_executable_process() -> None:
    text = bpmn(process("doc", task("t1"), executable=False))
    [problem] = problems_of({"doc.bpmn": text.encode()})
    assert (problem.line, problem.element_id) == (line_of(text, 'id="doc"'), "doc")
    assert "нет исполняемого процесса" in problem.message


def test_non_validation_exception_becomes_a_problem_without_traceback() -> None:
    empty_dmn = dmn("fees").replace(dmn("fees").split("\n", 2)[2].rsplit("</definitions>", 1)[0], "")
    bundle, problems = analyse_bundle({"main.bpmn": bpmn(process("p", task("t"))).encode(),
                                       "empty.dmn": empty_dmn.encode()})
    [problem] = problems
    assert problem.file == "empty.dmn" and problem.message.startswith("Ошибка разбора: IndexError")
    assert bundle.process_keys() == ["p"]


def test_dmn_error_is_reported_against_the_dmn_file() -> None:
    broken = dmn("fees").replace("<text>500</text>", "<text>500</text><text>1</text>")
    problems = problems_of(files() | {"decisions/fees.dmn": broken.encode()})
    assert problems and all(p.file == "decisions/fees.dmn" for p in problems)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">&lol9;</bpmn:definitions>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="p" isExecutable="true"><bpmn:documentation>&secret;</bpmn:documentation></bpmn:process>
</bpmn:definitions>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"/>
"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["billion-laughs", "xxe", "external-dtd"])
def test_entity_and_dtd_attacks_are_rejected(content: bytes) -> None:
    [problem] = problems_of({"evil.bpmn": content})
    assert problem.file == "evil.bpmn" and "отклонён" in problem.message
    assert "root:" not in str(problem)  # /etc/passwd never leaks into a message


def test_oversized_file_is_rejected() -> None:
    from engine import bpmn_files

    [problem] = problems_of({"big.bpmn": b" " * (bpmn_files.MAX_FILE_BYTES + 1)})
    assert "слишком большой" in problem.message
