"""`medflow substitutions [add | cancel]`: deputies for absent operators, from the shell."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from engine.accounts import Accounts
from engine.cli.common import State
from engine.cli.main import cli
from engine.clock import RealClock, install_clock
from tests.conftest import START
from tests.test_cli import env, run  # noqa: F401  (env is a fixture)

# START is 30.04.2026 in Moscow: a period from 29.04 is running, one from 11.05 is planned.


@pytest.fixture
def state(env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[State]:  # noqa: F811
    """The CLI's engine on a fresh database (SQLite; PostgreSQL too when configured) with operators."""
    for name, value in {**env, "MEDFLOW_DATABASE_URL": database_url}.items():
        monkeypatch.setenv(name, value)
    state = State()
    state.medflow.clock.set(START)
    accounts = Accounts(state.medflow.db, state.medflow.settings)
    for username in ("operator1", "operator2", "operator3"):
        accounts.create(username, "пароль-123", username, role="operator", groups=["operators"])
    accounts.create("applicant1", "пароль-123", "Заявитель", role="applicant")
    yield state
    state.medflow.db.dispose()
    install_clock(RealClock())


def invoke(state: State, *args: str) -> Result:
    return CliRunner().invoke(cli, ["substitutions", *args], obj=state)


def listed(state: State, *args: str) -> list[dict]:
    result = invoke(state, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_added_substitutions_are_listed_as_text_and_json(state: State) -> None:
    assert invoke(state).stdout == "Замещений нет.\n"
    running = invoke(state, "add", "operator1", "operator2", "--from", "29.04.2026", "--to", "2026-05-08",
                     "--reason", "отпуск", "--actor", "supervisor")
    assert running.exit_code == 0, running.output
    (first,) = state.medflow.substitutions.current()
    assert (first.absent, first.deputy, first.reason, first.created_by) == ("operator1", "operator2", "отпуск",
                                                                           "supervisor")
    line1 = f"#{first.id} operator1 → operator2, 29.04.2026–08.05.2026 (отпуск) — идёт"
    assert running.stdout == f"Замещение сохранено: {line1}\n"

    planned = invoke(state, "add", "operator3", "operator2", "--from", "2026-05-11", "--to", "15.05.2026", "--json")
    assert planned.exit_code == 0, planned.output
    second = json.loads(planned.stdout)
    assert second["absent"] == "operator3" and second["starts_on"] == "2026-05-11" and second["active"] is False
    line2 = f"#{second['id']} operator3 → operator2, 11.05.2026–15.05.2026 — запланировано"

    assert invoke(state).stdout == f"{line1}\n{line2}\n"
    assert invoke(state, "--person", "operator3").stdout == f"{line2}\n"
    assert invoke(state, "--person", "operator2").stdout == f"{line1}\n{line2}\n"
    assert invoke(state, "--limit", "1").stdout == f"{line1}\n… показаны 1; следующие: --after {first.id}\n"
    assert invoke(state, "--after", str(first.id)).stdout == f"{line2}\n"
    rows = listed(state)
    assert [(r["id"], r["absent"], r["deputy"], r["starts_on"], r["ends_on"], r["active"]) for r in rows] == [
        (first.id, "operator1", "operator2", "2026-04-29", "2026-05-08", True),
        (second["id"], "operator3", "operator2", "2026-05-11", "2026-05-15", False)]


@pytest.mark.parametrize(("absent", "deputy", "start", "end", "lines"), [
    ("operator1", "operator1", "04.05.2026", "08.05.2026", ["  заместитель: нельзя замещать самого себя"]),
    ("nobody", "operator2", "04.05.2026", "08.05.2026", ["  отсутствующий: нет действующего сотрудника nobody"]),
    ("operator1", "applicant1", "04.05.2026", "08.05.2026", ["  заместитель: applicant1 не работает с задачами"]),
    ("operator1", "operator2", "08.05.2026", "04.05.2026", ["  по: окончание раньше начала"]),
    ("operator1", "operator2", "01.04.2026", "20.04.2026", ["  по: период уже закончился"]),
    ("operator1", "ghost", "31.02.2026", "завтра",
     ["  с: дата в формате ДД.ММ.ГГГГ", "  по: дата в формате ДД.ММ.ГГГГ",
      "  заместитель: нет действующего сотрудника ghost"]),
])
def test_a_refused_substitution_says_why_in_russian_and_saves_nothing(
        state: State, absent: str, deputy: str, start: str, end: str, lines: list[str]) -> None:
    result = invoke(state, "add", absent, deputy, "--from", start, "--to", end)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["Замещение не сохранено", *lines]
    assert "Traceback" not in result.output
    assert invoke(state).stdout == "Замещений нет.\n"
    assert listed(state) == [] and state.medflow.substitutions.current() == []


def test_a_refused_substitution_as_json_keeps_the_engine_field_names(state: State) -> None:
    result = invoke(state, "add", "operator1", "operator1", "--from", "08.05.2026", "--to", "04.05.2026", "--json")
    assert result.exit_code == 1
    refused = json.loads(result.stdout)
    assert refused["error"] == "validation_failed"
    assert {(e["field"], e["code"]) for e in refused["errors"]} == {("ends_on", "order"), ("deputy", "self")}
    assert listed(state) == []


def test_an_overlapping_period_is_refused_and_the_first_stays(state: State) -> None:
    assert invoke(state, "add", "operator1", "operator2", "--from", "04.05.2026", "--to", "08.05.2026").exit_code == 0
    again = invoke(state, "add", "operator1", "operator3", "--from", "06.05.2026", "--to", "12.05.2026")
    assert again.exit_code == 1
    assert ("  с: у operator1 уже есть замещение на 04.05.2026–08.05.2026 (замещает operator2)"
            in again.stderr.splitlines())
    assert [(r["absent"], r["deputy"]) for r in listed(state)] == [("operator1", "operator2")]


def test_cancel_removes_it_and_a_second_cancel_is_refused(state: State) -> None:
    invoke(state, "add", "operator1", "operator2", "--from", "29.04.2026", "--to", "08.05.2026")
    (info,) = state.medflow.substitutions.current()
    cancelled = invoke(state, "cancel", str(info.id), "--actor", "supervisor")
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.stdout == f"Замещение #{info.id} отменено: operator1 → operator2, 29.04.2026–08.05.2026.\n"
    assert invoke(state).stdout == "Замещений нет.\n" and listed(state) == []
    assert state.medflow.substitutions.get(info.id).cancelled_by == "supervisor"

    twice = invoke(state, "cancel", str(info.id))
    assert twice.exit_code == 1
    assert twice.stderr == f"Замещение {info.id} уже отменено (supervisor)\n"
    missing = invoke(state, "cancel", "999")
    assert missing.exit_code == 1 and missing.stderr == "Замещение 999 не найдено\n"


def test_the_installed_command_answers_scripts_in_json(state: State, env: dict[str, str],  # noqa: F811
                                                       database_url: str) -> None:
    """A separate process (as a script runs it): errors come as JSON on stdout, exit code 1."""
    env = {**env, "MEDFLOW_DATABASE_URL": database_url}
    added = run(["substitutions", "add", "operator1", "operator2", "--from", "29.04.2026", "--to", "08.05.2026",
                 "--json"], env)
    assert added.returncode == 0, added.stderr
    number = json.loads(added.stdout)["id"]
    assert [r["id"] for r in json.loads(run(["substitutions", "--json"], env).stdout)] == [number]
    assert run(["substitutions", "cancel", str(number), "--json"], env).returncode == 0
    twice = run(["substitutions", "cancel", str(number), "--json"], env)
    assert twice.returncode == 1 and "Traceback" not in twice.stderr
    assert json.loads(twice.stdout) == {"error": "conflict", "message": f"Замещение {number} уже отменено (cli)",
                                        "substitution_id": number}
