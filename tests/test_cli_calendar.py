"""`medflow calendar …` through click's test runner: outputs, --json, and Russian usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.calendar_cmd import calendar


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(calendar, list(args), env=env)


@pytest.mark.parametrize("start", ["2026-04-30", "30.04.2026"])
def test_add_working_days(start: str) -> None:
    result = run("add-working-days", start, "10")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-05-18\n"


def test_add_working_days_json() -> None:
    result = run("add-working-days", "2026-04-30", "10", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"start": "2026-04-30", "n": 10, "result": "2026-05-18"}


def test_add_zero_working_days_returns_the_start() -> None:
    assert run("add-working-days", "2026-01-01", "0").stdout == "2026-01-01\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("add-working-days", "2026-04-30", "-1"), "не может быть отрицательным"),
        (("add-working-days", "2026-04-30", "десять"), "ожидается целое число"),
        (("add-working-days", "2026-02-30", "1"), "такой даты нет"),
        (("add-working-days", "30/04/2026", "1"), "ГГГГ-ММ-ДД или ДД.ММ.ГГГГ"),
        (("add-working-days", "2026-04-30", "999999"), "слишком велик"),
        (("is-working-day", "31.02.2026"), "такой даты нет"),
        (("month", "2026-13"), "от 01 до 12"),
        (("month", "май"), "ГГГГ-ММ"),
    ],
)
def test_bad_input_is_a_usage_error_in_russian(args: tuple[str, ...], fragment: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("day", "answer", "reason"),
    [
        ("2025-11-01", "да", "1335"),
        ("01.01.2026", "нет", "праздник: Новогодние каникулы"),
        ("2026-05-16", "нет", "выходной"),
        ("2026-05-12", "да", "рабочий день"),
    ],
)
def test_is_working_day(day: str, answer: str, reason: str) -> None:
    result = run("is-working-day", day)
    assert result.exit_code == 0
    assert result.stdout.startswith(answer + ":")
    assert reason in result.stdout


def test_is_working_day_json() -> None:
    result = run("is-working-day", "2026-01-09", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["date"] == "2026-01-09"
    assert payload["working"] is False
    assert payload["reason"].startswith("выходной")


def test_month_grid() -> None:
    result = run("month", "2026-05")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Май 2026"
    assert lines[1].split() == ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
    # May 2026 starts on a Friday: the 1st sits under Пт, a holiday, marked.
    assert lines[2].split() == ["1*", "2*", "3*"]
    friday = lines[1].index("Пт")
    assert lines[2][friday : friday + 3].strip() == "1*"
    assert lines[3].split() == ["4", "5", "6", "7", "8", "9*", "10*"]
    assert lines[4].split()[0] == "11*"  # Victory Day moved to Monday
    assert "Рабочих дней: 19" in result.stdout


def test_month_json() -> None:
    result = run("month", "2026-01", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["working_days"] == 15
    assert len(payload["days"]) == 31
    assert payload["days"][11] == {"date": "2026-01-12", "working": True, "reason": "рабочий день"}
    assert "1466" in payload["decree"]


def test_overrides_path_comes_from_settings(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text("years:\n  2026:\n    decree: Тест\n    working_days: [2026-05-16]\n", encoding="utf-8")
    env = {"MEDFLOW_CALENDAR_OVERRIDES": str(path)}
    assert run("is-working-day", "2026-05-16", env=env).stdout.startswith("да:")
    assert run("add-working-days", "2026-05-15", "1", env=env).stdout == "2026-05-16\n"


def test_broken_override_file_is_reported_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text("years:\n  2026:\n    days_off: [2026-02-30]\n", encoding="utf-8")
    result = run("is-working-day", "2026-05-16", env={"MEDFLOW_CALENDAR_OVERRIDES": str(path)})
    assert result.exit_code == 1
    assert str(path) in result.stderr and "2026-02-30" in result.stderr
    assert result.exc_info is None or result.exc_info[0] is SystemExit
