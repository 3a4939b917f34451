"""`medflow calendar …`: ask the production calendar from the shell.

Registered by the main CLI with ``cli.add_command(calendar)``.

    $ medflow calendar add-working-days 30.04.2026 10
    2026-05-18
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import click

from engine.calendar import CalendarError, ProductionCalendar
from engine.config import ConfigError, load_settings

_MONTH_NAMES = (
    "Январь", "Февраль", "Март", "Апрель", "Май", "Июнь",
    "Июль", "Август", "Сентябрь", "Октябрь", "Ноябрь", "Декабрь",
)  # fmt: skip
_WEEKDAYS = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")
_RU_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})", re.ASCII)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})", re.ASCII)


class DateParam(click.ParamType):
    """YYYY-MM-DD or ДД.ММ.ГГГГ; a wrong date is a usage error (exit 2), not a traceback."""

    name = "дата"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        iso, ru = _ISO_DATE.fullmatch(text), _RU_DATE.fullmatch(text)
        if iso:
            parts = (int(iso[1]), int(iso[2]), int(iso[3]))
        elif ru:
            parts = (int(ru[3]), int(ru[2]), int(ru[1]))
        else:
            self.fail(f"«{text}» — ожидается дата ГГГГ-ММ-ДД или ДД.ММ.ГГГГ", param, ctx)
        try:
            return date(*parts)
        except ValueError:
            self.fail(f"«{text}» — такой даты нет в календаре", param, ctx)


class MonthParam(click.ParamType):
    """YYYY-MM."""

    name = "месяц"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        match = _MONTH.fullmatch(text)
        if match is None:
            self.fail(f"«{text}» — ожидается месяц в виде ГГГГ-ММ, например 2026-05", param, ctx)
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            self.fail(f"«{text}» — месяц должен быть от 01 до 12", param, ctx)
        if year < 1:
            self.fail(f"«{text}» — год должен быть положительным", param, ctx)
        return year, month


class WorkingDaysParam(click.ParamType):
    """A count of working days: a whole number, zero or more."""

    name = "число"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if re.fullmatch(r"[+-]?\d{1,7}", text, re.ASCII) is None:
                self.fail(f"«{text}» — ожидается целое число рабочих дней", param, ctx)
            number = int(text)
        if number < 0:
            self.fail(f"{number} — число рабочих дней не может быть отрицательным", param, ctx)
        return number


def _load_calendar() -> ProductionCalendar:
    try:
        return ProductionCalendar(load_settings().calendar_overrides)
    except (CalendarError, ConfigError) as exc:
        # A broken override file is the administrator's to fix: say which file and entry, exit 1.
        raise click.ClickException(str(exc)) from None


def _emit_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


json_option = click.option("--json", "as_json", is_flag=True, help="Вывод в формате JSON для программ.")


@click.group(name="calendar")
def calendar() -> None:
    """Производственный календарь РФ: рабочие дни и сроки."""


# ignore_unknown_options lets "-1" reach WorkingDaysParam (a Russian message) instead of being
# taken for an unknown option.
@calendar.command("add-working-days", context_settings={"ignore_unknown_options": True})
@click.argument("start", type=DateParam())
@click.argument("n", type=WorkingDaysParam())
@json_option
def add_working_days_cmd(start: date, n: int, as_json: bool) -> None:
    """Дата, на которую выпадает N-й рабочий день после START (отсчёт со следующего дня)."""
    cal = _load_calendar()
    try:
        result = cal.add_working_days(start, n)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="N") from None
    if as_json:
        _emit_json({"start": start.isoformat(), "n": n, "result": result.isoformat()})
    else:
        click.echo(result.isoformat())


@calendar.command("is-working-day")
@click.argument("day", metavar="DATE", type=DateParam())
@json_option
def is_working_day_cmd(day: date, as_json: bool) -> None:
    """Рабочий ли день DATE и почему. Код выхода 0 в обоих случаях."""
    cal = _load_calendar()
    working = cal.is_working_day(day)
    reason = cal.describe(day)
    if as_json:
        _emit_json({"date": day.isoformat(), "working": working, "reason": reason})
    else:
        click.echo(f"{'да' if working else 'нет'}: {day.strftime('%d.%m.%Y')} — {reason}")


@calendar.command("month")
@click.argument("year_month", metavar="YYYY-MM", type=MonthParam())
@json_option
def month_cmd(year_month: tuple[int, int], as_json: bool) -> None:
    """Месяц сеткой: рабочие дни и выходные, с числом рабочих дней."""
    year, month = year_month
    cal = _load_calendar()
    days = cal.month(year, month)
    working_count = sum(1 for _, working in days if working)
    if as_json:
        _emit_json(
            {
                "year": year,
                "month": month,
                "working_days": working_count,
                "days_off": len(days) - working_count,
                "decree": cal.decree(year),
                "days": [
                    {"date": d.isoformat(), "working": working, "reason": cal.describe(d)}
                    for d, working in days
                ],
            }
        )
        return
    click.echo(f"{_MONTH_NAMES[month - 1]} {year}")
    click.echo(" ".join(f"{name:<3}" for name in _WEEKDAYS).rstrip())
    # Monday-first rows; a day off carries "*" so the grid reads without colour.
    cells = ["   "] * days[0][0].weekday()
    cells += [f"{d.day:>2}{' ' if working else '*'}" for d, working in days]
    for row in range(0, len(cells), 7):
        click.echo(" ".join(cells[row : row + 7]).rstrip())
    click.echo("* — выходной или праздничный день")
    click.echo(f"Рабочих дней: {working_count}, выходных и праздничных: {len(days) - working_count}")
    decree = cal.decree(year)
    if decree:
        click.echo(f"Переносы: {decree}")
