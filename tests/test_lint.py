"""lint_bundle / lint_paths: each check finds its problem at the right line and element, and a clean
bundle gives none."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from engine.lint import lint_bundle, lint_paths
from engine.parsing import Problem
from tests.bpmn_samples import (
    bpmn,
    business_rule_task,
    call_activity,
    dmn,
    gateway_process,
    line_of,
    process,
    script_task,
    service_task,
    task,
    timer_event,
    user_task,
)

HANDLERS = {"check_snils"}
SCHEMA = json.dumps({"type": "object", "properties": {"snils": {"type": "string"}}}).encode()
FORMS = {"review.schema.json": SCHEMA, "review.uischema.json": b"{}"}
CONFORMANCE = sorted(Path("/work/shared/conformance/miwg-reference").glob("*.bpmn"))


def clean_main() -> str:
    return bpmn(
        process(
            "medbook",
            service_task("check", "check_snils", {"snils": "applicant['snils']"}),
            user_task("review", "review.schema.json", "review.uischema.json"),
            timer_event("wait", '"P5D"'),
            timer_event("deadline", "working_days(5)", kind="timeDate"),
            timer_event("every_day", '"R3/P1D"', kind="timeCycle"),
            script_task("calc", "total = 1\nif total:\n    total += 1"),
            business_rule_task("fee", "fees"),
            call_activity("call", "gate"),
        ),
        gateway_process("gate", "snils_ok and total > 1"),
    )


def lint(main: str, handlers: set[str] = HANDLERS, forms: dict[str, bytes] = FORMS) -> list[Problem]:
    bundle = {"medbook.bpmn": main.encode(), "fees.dmn": dmn("fees").encode()}
    return lint_bundle(bundle, handlers, forms)


def single(text: str, **kwargs: object) -> list[Problem]:
    return lint_bundle({"p.bpmn": text.encode()}, kwargs.get("handlers", HANDLERS), kwargs.get("forms", FORMS))


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_clean_bundle_has_no_problems() -> None:
    assert lint(clean_main()) == []


def test_xml_syntax_error() -> None:
    text = clean_main().replace('<bpmn:task id="gate_yes_task" />', '<bpmn:task id="gate_yes_task">')
    problem = only(lint(text))
    assert problem.file == "medbook.bpmn" and "синтаксиса XML" in problem.message
    assert problem.line is not None and problem.line > line_of(text, 'id="gate_yes_task"')


def test_unknown_element_fails_the_schema() -> None:
    text = bpmn(process("p", task("t1"))).replace("<bpmn:task ", "<bpmn:tusk ")
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, "<bpmn:tusk"), "t1")
    assert "XSD" in problem.message


def test_parser_error_is_located() -> None:
    text = bpmn(process("p", task("t1"))).replace("<bpmn:task ", "<bpmn:serviceTask ")
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, 'id="t1"'), "t1")


def test_call_activity_to_a_process_not_in_bundle() -> None:
    text = bpmn(process("p", call_activity("call", "elsewhere")))
    assert only(single(text)) == Problem("p.bpmn", line_of(text, 'id="call"'), "call",
                                         "Вызываемый процесс «elsewhere» не найден в наборе")


def test_business_rule_task_without_its_decision() -> None:
    problem = only(lint_bundle({"medbook.bpmn": clean_main().encode()}, HANDLERS, FORMS))
    assert (problem.line, problem.element_id) == (line_of(clean_main(), 'id="fee"'), "fee")
    assert "«fees»" in problem.message


def test_service_task_with_unknown_handler() -> None:
    text = clean_main()
    problem = only(lint(text, handlers={"other"}))
    assert problem == Problem("medbook.bpmn", line_of(text, 'serviceTaskOperator id="check_snils"'), "check",
                              "Обработчик «check_snils» не зарегистрирован")


def test_service_parameter_that_does_not_compile() -> None:
    text = bpmn(process("p", service_task("check", "check_snils", {"snils": "applicant['snils'"})))
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, 'parameter id="snils"'), "check")
    assert "«snils»" in problem.message and "не компилируется" in problem.message


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        ({"review.uischema.json": b"{}"}, "«review.schema.json» не найден"),
        ({**FORMS, "review.schema.json": b"{broken"}, "не JSON"),
        ({**FORMS, "review.schema.json": b'{"type": 12}'}, "неверная JSON Schema"),
    ],
    ids=["missing", "not-json", "bad-schema"],
)
def test_form_schema_problems(forms: dict[str, bytes], expected: str) -> None:
    text = clean_main()
    problem = only(lint(text, forms=forms))
    assert (problem.line, problem.element_id) == (line_of(text, 'value="review.schema.json"'), "review")
    assert expected in problem.message


def test_ui_schema_must_exist_and_be_json_but_need_not_be_a_schema() -> None:
    text = clean_main()
    problem = only(lint(text, forms={"review.schema.json": SCHEMA, "review.uischema.json": b"nope"}))
    assert problem.line == line_of(text, 'value="review.uischema.json"') and "не JSON" in problem.message
    assert lint(text, forms={"review.schema.json": SCHEMA, "review.uischema.json": b'{"type": 12}'}) == []


def fake_forms(monkeypatch: pytest.MonkeyPatch, check: object) -> None:
    module = types.ModuleType("engine.forms")
    module.check_schema = check  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "engine.forms", module)


def test_forms_check_schema_is_preferred_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_forms(monkeypatch, lambda schema: ["нет заголовка формы"])
    assert "нет заголовка формы" in only(lint(clean_main())).message


def test_broken_forms_module_falls_back_to_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(schema: object) -> list[str]:
        raise RuntimeError("half-written")

    fake_forms(monkeypatch, explode)
    assert lint(clean_main()) == []
    assert "неверная JSON Schema" in only(lint(clean_main(), forms={**FORMS, "review.schema.json": b"[1]"})).message
    monkeypatch.setitem(sys.modules, "engine.forms", None)  # import now fails
    assert lint(clean_main()) == []


@pytest.mark.parametrize(
    ("expression", "kind", "expected"),
    [
        ("P5D", "timeDuration", 'ISO-длительность должна быть в кавычках: "P5D"'),
        ("PT1H30M", "timeDuration", 'ISO-длительность должна быть в кавычках: "PT1H30M"'),
        ("2026-01-01", "timeDate", 'ISO-дата должна быть в кавычках: "2026-01-01"'),
        ("2026-01-01T10:00:00Z", "timeDate", 'ISO-дата должна быть в кавычках: "2026-01-01T10:00:00Z"'),
        ("R3/PT1H", "timeCycle", 'ISO-цикл должен быть в кавычках: "R3/PT1H"'),
        ("now() +", "timeDate", "не компилируется"),
        ("working_days(5)", "timeDuration", "timeDate"),
        ("", "timeDuration", "Пустое выражение"),
    ],
)
def test_timer_problems(expression: str, kind: str, expected: str) -> None:
    text = bpmn(process("p", timer_event("wait", expression, kind=kind)))
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, f"<bpmn:{kind}"), "wait")
    assert expected in problem.message


@pytest.mark.parametrize(
    ("expression", "kind"),
    [('"P5D"', "timeDuration"), ("  timedelta(days=5)", "timeDuration"), ("working_days(5)", "timeDate"),
     ('"2026-01-01T10:00:00+03:00"', "timeDate"), ("P5D_days", "timeDuration")],
)
def test_timer_expressions_that_are_fine(expression: str, kind: str) -> None:
    assert single(bpmn(process("p", timer_event("wait", expression, kind=kind)))) == []


def test_condition_that_does_not_compile() -> None:
    text = bpmn(gateway_process("g", "approved = True"))
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, "<bpmn:conditionExpression"), "g_yes")
    assert "Условие перехода" in problem.message


def test_script_error_points_at_its_own_line() -> None:
    text = bpmn(process("p", script_task("calc", "a = 1\nb = = 2")))
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, "b = = 2"), "calc")


def test_bundle_without_executable_process() -> None:
    text = bpmn(process("doc", task("t1"), executable=False))
    problem = only(single(text))
    assert (problem.line, problem.element_id) == (line_of(text, 'id="doc"'), "doc")


def test_non_executable_processes_are_not_checked_as_code() -> None:
    text = bpmn(process("doc", service_task("s", "unknown", {"x": "free text, not code"}), executable=False),
                process("p", task("t1")))
    assert single(text) == []


def test_entity_attack_is_a_problem_not_an_exception() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">]><d>&a;</d>'
    assert "отклонён" in only(lint_bundle({"evil.bpmn": evil}, set(), {})).message


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe", b"not xml at all", "<?xml version='1.0'?><a>ё</a>".encode("cp1251")])
def test_garbage_never_raises(content: bytes) -> None:
    problems = lint_bundle({"x.bpmn": content, "y.dmn": content}, set(), {})
    assert problems and all(p.file in {"x.bpmn", "y.dmn"} and p.message for p in problems)


def test_lint_paths_reads_directories_recursively_and_forms_by_name(tmp_path: Path) -> None:
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    (processes / "decisions").mkdir(parents=True)
    forms.mkdir()
    (processes / "medbook.bpmn").write_text(clean_main(), encoding="utf-8")
    (processes / "decisions" / "fees.dmn").write_text(dmn("fees"), encoding="utf-8")
    (processes / "notes.txt").write_text("ignored", encoding="utf-8")
    for name, content in FORMS.items():
        (forms / name).write_bytes(content)
    assert lint_paths([processes], HANDLERS, forms) == []
    (forms / "review.schema.json").unlink()
    problem = only(lint_paths([processes], HANDLERS, forms))
    assert problem.file == str(processes / "medbook.bpmn") and "не найден" in problem.message


def test_lint_paths_reports_missing_paths_and_form_names_outside_the_forms_dir(tmp_path: Path) -> None:
    (tmp_path / "forms").mkdir()
    (tmp_path / "secret.json").write_text("{}", encoding="utf-8")
    diagram = tmp_path / "p.bpmn"
    diagram.write_text(bpmn(process("p", user_task("u", "../secret.json"))), encoding="utf-8")
    problems = lint_paths([diagram, tmp_path / "absent.bpmn"], set(), tmp_path / "forms")
    assert [p.message for p in problems] == ["Файл или папка не найдены", "Файл формы «../secret.json» не найден"]


@pytest.mark.parametrize("path", CONFORMANCE, ids=[path.name for path in CONFORMANCE])
def test_conformance_files_never_crash_lint(path: Path) -> None:
    problems = lint_paths([path], set(), Path("/nonexistent-forms"))
    assert isinstance(problems, list)
    assert all(isinstance(p, Problem) and p.file and p.message for p in problems)
    assert all("Внутренняя ошибка" not in p.message for p in problems)


def test_conformance_suite_is_present() -> None:
    assert len(CONFORMANCE) == 21
