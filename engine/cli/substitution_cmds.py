"""`medflow substitutions [add | cancel]`: deputies for absent operators (engine/substitutions.py).

    $ medflow substitutions add operator1 operator2 --from 07.12.2026 --to 18.12.2026 --reason отпуск
    Замещение сохранено: #3 operator1 → operator2, 07.12.2026–18.12.2026 (отпуск) — запланировано
"""

from __future__ import annotations

import sys
from datetime import date

import click

from engine.cli.common import State, emit, json_option, pass_state
from engine.errors import ValidationFailed
from engine.substitutions import SubstitutionInfo

# The engine reports errors by its field names; people read them in Russian.
FIELD_LABELS = {"absent": "отсутствующий", "deputy": "заместитель", "starts_on": "с", "ends_on": "по",
                "reason": "причина"}


def describe(info: SubstitutionInfo, today: date) -> str:
    """``#3 operator1 → operator2, 07.12.2026–18.12.2026 (отпуск) — идёт``."""
    reason = f" ({info.reason})" if info.reason else ""
    status = "идёт" if info.active_on(today) else "запланировано"
    return (f"#{info.id} {info.absent} → {info.deputy}, "
            f"{info.starts_on:%d.%m.%Y}–{info.ends_on:%d.%m.%Y}{reason} — {status}")


def _refused(exc: ValidationFailed, as_json: bool) -> None:
    """Like the shared handler's output for ValidationFailed, with the field names in Russian."""
    if as_json:
        emit(exc.to_dict(), True)
    else:
        click.echo(exc.message, err=True)
        for error in exc.errors:
            label = FIELD_LABELS.get(error.get("field") or "", error.get("field") or "(форма)")
            click.echo(f"  {label}: {error['message']}", err=True)
    sys.exit(1)


def register(cli: click.Group) -> None:
    @cli.group(invoke_without_command=True)
    @click.option("--person", default=None, help="Только где этот сотрудник отсутствует или замещает.")
    @click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="Сколько показать.")
    @click.option("--after", default=None, type=click.IntRange(0), help="Начать после этого номера замещения.")
    @json_option
    @click.pass_context
    def substitutions(ctx: click.Context, person: str | None, limit: int, after: int | None, as_json: bool) -> None:
        """Замещения: кто работает задачи отсутствующего сотрудника (идущие и запланированные)."""
        if ctx.invoked_subcommand is not None:
            return
        subs = ctx.find_object(State).medflow.substitutions
        today = subs.today()
        found = subs.current(person, limit, after)

        def human(rows: list[SubstitutionInfo]) -> str:
            lines = [describe(info, today) for info in rows]
            if len(rows) == limit:
                lines.append(f"… показаны {limit}; следующие: --after {rows[-1].id}")
            return "\n".join(lines) or "Замещений нет."

        if as_json:
            emit([info.to_dict(today) for info in found], True)
        else:
            emit(found, False, human)

    @substitutions.command("add")
    @click.argument("absent")
    @click.argument("deputy")
    @click.option("--from", "starts_on", required=True, help="Первый день: ДД.ММ.ГГГГ или ГГГГ-ММ-ДД.")
    @click.option("--to", "ends_on", required=True, help="Последний день: ДД.ММ.ГГГГ или ГГГГ-ММ-ДД.")
    @click.option("--reason", default="", help="Причина отсутствия (отпуск, больничный…).")
    @click.option("--actor", default="cli", show_default=True, help="Кто назначает (для журнала).")
    @json_option
    @pass_state
    def substitutions_add(state: State, absent: str, deputy: str, starts_on: str, ends_on: str, reason: str,
                          actor: str, as_json: bool) -> None:
        """Назначить заместителя ABSENT: DEPUTY работает его задачи с --from по --to."""
        subs = state.medflow.substitutions
        try:
            info = subs.add(absent, deputy, starts_on, ends_on, reason, actor=actor)
        except ValidationFailed as exc:
            _refused(exc, as_json)
            return
        today = subs.today()
        emit(info.to_dict(today), as_json, f"Замещение сохранено: {describe(info, today)}")

    @substitutions.command("cancel")
    @click.argument("substitution_id", type=int)
    @click.option("--actor", default="cli", show_default=True, help="Кто отменяет (для журнала).")
    @json_option
    @pass_state
    def substitutions_cancel(state: State, substitution_id: int, actor: str, as_json: bool) -> None:
        """Отменить замещение (взятые заместителем задачи остаются у него)."""
        subs = state.medflow.substitutions
        info = subs.cancel(substitution_id, actor)
        emit(info.to_dict(subs.today()), as_json, f"Замещение #{info.id} отменено: {info.absent} → {info.deputy}, "
                                      f"{info.starts_on:%d.%m.%Y}–{info.ends_on:%d.%m.%Y}.")
