"""`medflow incidents | clock | worker | serve`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from engine.cli.common import State, emit, json_option, pass_state
from engine.clock import parse_advance, simple_delta
from engine.incident_retries import MAX_PER_SECOND, IncidentFilter


def _step_options(command: Any) -> Any:
    """--process / --element / --handler: one step's incidents (an outage's group)."""
    for option in reversed((
        click.option("--process", "process_key", help="Только этой процедуры (ключ процесса)."),
        click.option("--element", "element_id", help="Только этого шага (id элемента диаграммы)."),
        click.option("--handler", help="Только этого обработчика."),
    )):
        command = option(command)
    return command


def register(cli: click.Group) -> None:
    @cli.group(invoke_without_command=True)
    @click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="Сколько показать.")
    @click.option("--after", default=None, type=click.IntRange(0), help="Начать после этого номера инцидента.")
    @_step_options
    @json_option
    @click.pass_context
    def incidents(ctx: click.Context, limit: int, after: int | None, process_key: str | None,
                  element_id: str | None, handler: str | None, as_json: bool) -> None:
        """Открытые инциденты: шаги, которые не удалось выполнить (по номеру, страницами:
        при сбое реестра их тысячи)."""
        if ctx.invoked_subcommand is None:
            rows = ctx.find_object(State).medflow.queries.incidents(
                limit=limit, after_id=after, where=IncidentFilter(process_key, element_id, handler))

            def human(rs: list[dict]) -> str:
                lines = [f"#{i['id']} заявление {i['business_key'] or i['instance_id']} {i['element_id']} "
                         f"попыток {i['attempts']}: {i['error']}" for i in rs]
                if len(rs) == limit:
                    lines.append(f"… показаны {limit}; следующие: --after {rs[-1]['id']}")
                return "\n".join(lines) or "Открытых инцидентов нет."

            emit(rows, as_json, human)

    @incidents.command("retry")
    @click.argument("incident_id", type=int)
    @click.option("--user", default="cli")
    @json_option
    @pass_state
    def incidents_retry(state: State, incident_id: int, user: str, as_json: bool) -> None:
        """Повторить шаг инцидента."""
        result = state.medflow.runtime.retry_incident(incident_id, user)
        emit(result, as_json, lambda r: f"Шаг повторён. Состояние заявления: {r['status']}")

    @incidents.command("groups")
    @json_option
    @pass_state
    def incidents_groups(state: State, as_json: bool) -> None:
        """Открытые инциденты по процедуре, шагу и обработчику: сбой реестра — одна большая группа."""
        rows = state.medflow.queries.incident_groups()

        def human(rs: list[dict]) -> str:
            return "\n".join(f"{g['count']:>7}  {g['process_key']} / {g['element_id']} / {g['handler'] or '—'}"
                             f" (по #{g['last_id']}): {g['error'][:160]}" for g in rs) or "Открытых инцидентов нет."

        emit(rows, as_json, human)

    @incidents.command("retry-all")
    @_step_options
    @click.option("--up-to", "up_to_id", type=click.IntRange(1), help="Только с номером не больше этого (те, что вы видели).")
    @click.option("--per-second", type=click.FloatRange(0, MAX_PER_SECOND, min_open=True),
                  help="Не чаще стольких шагов в секунду (без него — все сразу).")
    @click.option("--dry-run", is_flag=True, help="Только посчитать, ничего не менять.")
    @click.option("--user", default="cli")
    @json_option
    @pass_state
    def incidents_retry_all(state: State, process_key: str | None, element_id: str | None, handler: str | None,
                            up_to_id: int | None, per_second: float | None, dry_run: bool, user: str,
                            as_json: bool) -> None:
        """Повторить открытые инциденты по отбору: шаги выполнит `medflow worker` (или serve)."""
        where = IncidentFilter(process_key, element_id, handler, up_to_id)
        if dry_run:
            count = state.medflow.queries.open_incident_count(where)
            emit({"matching": count}, as_json, f"Подходит открытых инцидентов: {count}. Ничего не изменено.")
            return
        result = state.medflow.runtime.retry_incidents(where, user, per_second)
        zone = ZoneInfo(state.settings.timezone)

        def human(r: dict) -> str:
            text = f"Повтор запланирован: {r['scheduled']} шагов"
            if result.first_due_at and result.last_due_at and result.first_due_at != result.last_due_at:
                first, last = (t.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")
                               for t in (result.first_due_at, result.last_due_at))
                text += f", с {first} по {last} ({zone.key})"
            return text + (f". Ещё открыто по отбору: {r['remaining']}" if r["remaining"] else "")

        emit(result.as_dict(), as_json, human)

    @cli.group(invoke_without_command=True)
    @json_option
    @click.pass_context
    def clock(ctx: click.Context, as_json: bool) -> None:
        """Часы движка (в режиме simulated их можно переводить)."""
        if ctx.invoked_subcommand is None:
            medflow = ctx.find_object(State).medflow
            now = medflow.clock.now()
            emit({"now": now.isoformat(), "mode": medflow.settings.clock_mode}, as_json,
                 f"{now.isoformat()} ({medflow.settings.clock_mode})")

    def _simulated(state: State):  # type: ignore[no-untyped-def]
        if state.settings.clock_mode != "simulated":
            raise click.UsageError("часы можно переводить только в режиме clock: simulated (MEDFLOW_CLOCK=simulated)")
        return state.medflow.clock

    @clock.command("advance")
    @click.argument("amount")
    @json_option
    @pass_state
    def clock_advance(state: State, amount: str, as_json: bool) -> None:
        """Перевести часы вперёд: 11d, 3h, 10wd (рабочие дни)."""
        try:
            value, unit = parse_advance(amount)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
        sim = _simulated(state)
        if unit == "wd":
            helpers = state.medflow.store.helpers
            target = datetime.fromisoformat(helpers.working_days(value)) if value else sim.now()
            now = sim.set(target)
        else:
            now = sim.advance(simple_delta(value, unit))
        emit({"now": now.isoformat()}, as_json, f"Время: {now.isoformat()}")

    @clock.command("set")
    @click.argument("when")
    @json_option
    @pass_state
    def clock_set(state: State, when: str, as_json: bool) -> None:
        """Установить время: 2026-05-01T09:00+03:00."""
        try:
            target = datetime.fromisoformat(when)
            if target.tzinfo is None:
                raise ValueError
        except ValueError as exc:
            raise click.BadParameter("ожидается время ISO с часовым поясом, например 2026-05-01T09:00+03:00") from exc
        now = _simulated(state).set(target)
        emit({"now": now.isoformat()}, as_json, f"Время: {now.isoformat()}")

    @cli.command()
    @click.option("--once", is_flag=True, help="Один проход и выход.")
    @json_option
    @pass_state
    def worker(state: State, once: bool, as_json: bool) -> None:
        """Срабатывание таймеров и повторов из базы данных."""
        from engine.worker import Worker

        # Alone, a worker fires timers on instances whose next step another process mostly
        # takes: a large cache would only hold memory (a soak saw it grow for the whole run).
        state.medflow.store.cache.resize(int(state.medflow.settings.get("worker.workflow_cache", 50)))
        w = Worker(state.medflow)
        w.exit_when_stuck = bool(state.medflow.settings.get("worker.exit_when_stuck", True))
        if once:
            r = w.tick()
            emit(r.__dict__, as_json, f"Сработало: {r.fired}, ошибок: {r.failed}")
            return
        state.medflow.warm_up()
        click.echo(f"Обработчик таймеров {w.worker_id} запущен.")
        w.scheduler(blocking=True).start()

    @cli.command()
    @json_option
    @pass_state
    def workers(state: State, as_json: bool) -> None:
        """Обработчики таймеров за последние сутки: когда каждый в последний раз закончил проход."""
        from engine.heartbeats import heartbeat_seconds, worker_states

        found = worker_states(state.medflow.db, heartbeat_seconds(state.medflow))
        lines = [f"{'жив' if w.alive else 'НЕ ОТВЕЧАЕТ'}  {w.worker_id}  {w.age_seconds:.0f} с назад  "
                 f"сработало {w.fired}, ошибок {w.failed}" + (f"  ({w.last_error})" if w.last_error else "")
                 for w in found]
        emit([w.to_dict() for w in found], as_json, "\n".join(lines) or "Обработчиков таймеров за сутки не было.")

    @cli.command()
    @click.option("--host", default=None)
    @click.option("--port", type=int, default=None)
    @click.option("--no-worker", is_flag=True, help="Не запускать таймеры в этом процессе.")
    @pass_state
    def serve(state: State, host: str | None, port: int | None, no_worker: bool) -> None:
        """Веб-интерфейс и API (и обработчик таймеров)."""
        from werkzeug.serving import run_simple

        from engine.worker import Worker
        from webui.app import create_app

        state.medflow.warm_up()
        app = create_app(state.medflow)
        if not no_worker:
            Worker(state.medflow).scheduler(blocking=False).start()
        host = host or str(state.settings.get("web.host", "127.0.0.1"))
        port = port or int(state.settings.get("web.port", 8080))
        click.echo(f"MedFlow: http://{host}:{port}/")
        run_simple(host, port, app, threaded=True, use_reloader=False)


def register_scenarios(cli: click.Group) -> None:
    @cli.command("test")
    @click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
    @json_option
    @pass_state
    def test_scenarios(state: State, paths: tuple[Path, ...], as_json: bool) -> None:
        """Прогнать сценарии (YAML) на временной базе с имитацией времени."""
        import importlib
        import sys

        # The runner needs the handlers' test doubles (uploads, payments), so the engine names it
        # by configuration instead of importing a specific handler module.
        runner = importlib.import_module(str(state.settings.get("scenarios.runner", "handlers.scenarios")))
        targets = list(paths) or [state.settings.path("paths.scenarios", "processes/scenarios")]
        files = sorted(f for t in targets for f in ([t] if t.is_file() else t.rglob("*.yaml")))
        if not files:
            raise click.UsageError("не найдено ни одного файла сценария (*.yaml)")
        reports = runner.run_scenario_files(files, state.settings)
        if as_json:
            emit([{"name": r.name, "path": r.path, "ok": r.ok, "text": r.text()} for r in reports], True)
        else:
            for report in reports:
                click.echo(report.text() + "\n")
            passed = sum(r.ok for r in reports)
            click.echo(f"Сценарии: {passed} пройдено, {len(reports) - passed} не пройдено")
        sys.exit(0 if all(r.ok for r in reports) else 1)
