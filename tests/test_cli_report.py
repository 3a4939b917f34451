"""`medflow report`: the period's figures as text and JSON, the applications as a CSV file that a
Russian Excel opens (BOM, `;`), and a bad period refused by field — on both databases."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from engine.cli.common import State
from engine.cli.main import cli
from engine.definitions import collect_files
from tests.conftest import DIAGRAMS
from tests.test_cli import env  # noqa: F401  (a fixture of the state fixture)
from tests.test_cli_substitutions import state  # noqa: F401  (the CLI's engine at 30.04.2026)


def _report(state: State, *args: str):  # type: ignore[no-untyped-def]  # noqa: F811
    return CliRunner().invoke(cli, ["report", *args], obj=state)


def test_the_months_figures_and_its_applications_as_csv(state, tmp_path) -> None:  # noqa: F811
    medflow = state.medflow
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    done = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    medflow.runtime.complete(done["open_tasks"][0]["id"], {"decision": "approve"}, user="operator1")
    waiting = medflow.runtime.start("review_loop", {"applicant_name": "Б"})
    target = tmp_path / "april.csv"

    text = _report(state, "--from", "01.04.2026", "--to", "30.04.2026", "--csv", str(target))
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0] == "Отчёт за 01.04.2026–30.04.2026"
    assert lines[1].startswith("review_loop: поступило 2, завершено 1 (") and "в срок 100% (1 из 1)" in lines[1]
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == ["Номер заявления", "Процедура", "Подано", "Состояние", "Статус для заявителя", "Завершено",
                       "Рабочих дней"]
    assert [(r[0], r[1], r[3], r[6]) for r in rows[1:]] == [
        (done["business_key"], "Проверка с доработкой", "завершено", "0"),
        (waiting["business_key"], "Проверка с доработкой", "в работе", "")]
    assert rows[1][2] == "30.04.2026 12:00"  # Moscow time

    as_json = _report(state, "--from", "2026-04-01", "--to", "2026-04-30", "--json")
    (figures,) = json.loads(as_json.stdout)["processes"]
    assert (figures["submitted"], figures["finished"], figures["median_working_days"]) == (2, 1, 0.0)


def test_a_bad_period_is_refused_by_field(state) -> None:  # noqa: F811
    result = _report(state, "--from", "30.04.2026", "--to", "01.04.2026")
    assert result.exit_code == 1 and "окончание раньше начала" in result.stderr
    empty = _report(state, "--from", "01.03.2026", "--to", "31.03.2026")
    assert empty.stdout.splitlines() == ["Отчёт за 01.03.2026–31.03.2026", "Заявлений нет."]


def test_a_status_that_looks_like_a_formula_stays_text() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.reports import csv_chunks

    at = datetime(2026, 4, 30, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    (_, line) = csv_chunks([{"business_key": "ЗВ-1", "process_key": "p", "created_at": at, "status": "completed",
                             "portal_status": '=HYPERLINK("http://x")', "completed_at": None, "working_days": 0}],
                           {"p": "@процедура"})
    assert next(csv.reader([line], delimiter=";")) == [
        "ЗВ-1", "'@процедура", "30.04.2026 12:00", "завершено", "'=HYPERLINK(\"http://x\")", "", "0"]
