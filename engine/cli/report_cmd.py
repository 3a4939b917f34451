"""`medflow report --from --to [--process] [--csv FILE]`: the period report from the shell (a cron
job mailing the ministry its monthly figures)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click

from engine.cli.common import State, emit, json_option, pass_state
from engine.reports import ProcessFigures, csv_chunks, period


def _line(f: ProcessFigures) -> str:
    outcomes = ", ".join(f"{status}: {n}" for status, n in sorted(f.outcomes.items())) or "—"
    median = "—" if f.median_days() is None else f"{f.median_days():g}"
    share = f.on_time_share()
    on_time = "—" if share is None else f"{share:.0%} ({f.tasks_on_time} из {f.tasks_with_deadline})"
    return (f"{f.process_key}: поступило {f.submitted}, завершено {f.finished} ({outcomes}); "
            f"медиана {median} раб. дн.; задач выполнено {f.tasks_done}, в срок {on_time}")


def register(cli: click.Group) -> None:
    @cli.command("report")
    @click.option("--from", "first", required=True, help="Первый день: ДД.ММ.ГГГГ или ГГГГ-ММ-ДД.")
    @click.option("--to", "last", required=True, help="Последний день, включительно.")
    @click.option("--process", "process_key", default=None, help="Только эта процедура.")
    @click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
                  help="Записать заявления периода в CSV (для Excel: UTF-8 с BOM, «;»).")
    @json_option
    @pass_state
    def report(state: State, first: str, last: str, process_key: str | None, csv_path: Path | None,
               as_json: bool) -> None:
        """Отчёт за период по процедурам: поступило, завершено и с каким итогом, рабочие дни, задачи в срок."""
        mf = state.medflow
        zone = ZoneInfo(state.settings.timezone)
        span = period(first, last, zone, mf.clock.now().astimezone(zone).date())
        figures = mf.reports.applications(span, process_key)
        if csv_path is not None:
            names = {d["process_key"]: d["name"] for d in mf.queries.definitions()}
            with csv_path.open("w", encoding="utf-8", newline="") as out:
                out.writelines(csv_chunks(mf.reports.rows(span, process_key), names))
        heading = f"Отчёт за {span.first:%d.%m.%Y}–{span.last:%d.%m.%Y}"
        emit({"from": span.first.isoformat(), "to": span.last.isoformat(), "processes": [f.to_dict() for f in figures]},
             as_json, "\n".join([heading, *(_line(f) for f in figures)] if figures else [heading, "Заявлений нет."]))
