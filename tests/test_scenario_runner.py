"""The scenario runner itself: a wrong expectation, a bad step or bad YAML gives a report that says
which step failed and why, in Russian."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.scenarios.expectations import lookup, matches
from handlers.scenarios.runner import run_scenario
from handlers.scenarios.session import ScenarioError, ScenarioSession
from tests.medflow_harness import deploy_processes, make_medflow

HEAD = """name: Проверка раннера
start_at: 2026-04-23 12:00
documents:
  passport: {name: passport.pdf, kind: pdf}
steps:
  - start: {process: medbook_issuance, as: ivanova}
"""


@pytest.fixture()
def medflow(tmp_path):
    mf = make_medflow(tmp_path)
    deploy_processes(mf)
    yield mf
    mf.db.dispose()


def run(medflow, tmp_path: Path, text: str):
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return run_scenario(medflow, path)


def test_passing_report(medflow, tmp_path) -> None:
    report = run(medflow, tmp_path, HEAD + "  - expect: {portal_status: Черновик заявления}\n")
    assert report.ok
    assert report.text().splitlines()[-1] == "Итог: пройден"


def test_failed_expectation_names_step_and_difference(medflow, tmp_path) -> None:
    report = run(medflow, tmp_path, HEAD + "  - expect: {portal_status: Услуга оказана}\n  - advance: 1d\n")
    assert not report.ok
    assert len(report.steps) == 2  # stops at the failing step
    assert "ожидалось «Услуга оказана», получено «Черновик заявления»" in report.text()
    assert report.text().endswith("Итог: не пройден (шаг 2)")


def test_unexpected_form_rejection_and_missing_rejection(medflow, tmp_path) -> None:
    bad = HEAD + "  - complete: {task: submit_application, as: ivanova, data: {filed_by: self}}\n"
    report = run(medflow, tmp_path, bad)
    assert "форма отклонена: applicant: Обязательное поле" in report.text()
    expected = HEAD + ("  - complete: {task: submit_application, as: ivanova, data: {filed_by: self},"
                       " expect_error: {applicant.snils: СНИЛС}}\n")
    assert "ожидалась ошибка в поле «applicant.snils»" in run(medflow, tmp_path, expected).text()


def test_bad_step_and_bad_yaml(medflow, tmp_path) -> None:
    assert "непонятный шаг" in run(medflow, tmp_path, HEAD + "  - fly: away\n").text()
    assert "нет открытой задачи «review»" in run(
        medflow, tmp_path, HEAD + "  - complete: {task: review, as: op, data: {}}\n").text()
    broken = run(medflow, tmp_path, "name: x\nsteps: [\n")
    assert not broken.ok and "не читается как YAML" in broken.text()
    assert "неизвестные ключи" in run(medflow, tmp_path, "name: x\nsteps: []\nsteeps: []\n").text()


def test_advance_units(medflow) -> None:
    session = ScenarioSession(medflow)
    session.set_time("2026-04-30 12:00")
    assert session.advance("1 working day").date().isoformat() == "2026-05-04"
    assert session.advance("3d").isoformat().startswith("2026-05-07T09:00")
    assert session.advance("2 часа").isoformat().startswith("2026-05-07T11:00")
    with pytest.raises(ScenarioError):
        session.advance("soon")


def test_lookup_and_matching() -> None:
    data = {"refusal_notice": {"items": {"documents.passport_scan": "плохо"}}}
    assert lookup(data, "refusal_notice.items.documents.passport_scan") == "плохо"
    assert matches("Скан паспорта", {"contains": "паспорт"}) and not matches("x", {"contains": "y"})
    assert matches("ЭМК-2026-1", {"startswith": "ЭМК"}) and matches(1, {"not": 2})
