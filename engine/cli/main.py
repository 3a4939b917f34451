"""`medflow` — the engine from the shell. Every command accepts --json."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.cli.calendar_cmd import calendar
from engine.cli.common import MedflowGroup, State, emit, json_option, pass_state
from engine.cli.instance_cmds import register as register_instance_commands
from engine.cli.instance_cmds import register_migration
from engine.cli.ops_cmds import register as register_ops_commands
from engine.cli.ops_cmds import register_scenarios
from engine.cli.report_cmd import register as register_report_command
from engine.cli.substitution_cmds import register as register_substitution_commands
from engine.cli.web_cmds import register as register_web_commands
from engine.db import connect, migrate
from engine.definitions import collect_files
from engine.handler_registry import handler_names, load_handler_modules
from engine.lint import lint_paths


@click.group(cls=MedflowGroup)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """MedFlow: процедуры медицинских работников на BPMN."""
    ctx.ensure_object(State)


@cli.command()
@click.option("--deploy/--no-deploy", default=True, help="Развернуть процессы из processes/.")
@json_option
@pass_state
def init(state: State, deploy: bool, as_json: bool) -> None:
    """Создать или обновить базу данных и развернуть процессы."""
    db = connect(state.settings.database_url)
    migrate(db)
    db.dispose()
    results = []
    if state.settings.mode == "development":
        _seed_demo_registries(state)
    if deploy:
        processes = state.settings.path("paths.processes", "processes")
        files = collect_files([processes])
        if files:
            results = [r.to_dict() for r in state.medflow.definitions.deploy(files, actor="init")]
    emit({"database": "ok", "deployed": results}, as_json,
         lambda d: "\n".join(["База данных готова."] + [_deploy_line(r) for r in d["deployed"]]))


def _seed_demo_registries(state: State) -> None:
    # Handler packages may ship demo records for their local registry adapters (development only).
    import importlib

    medflow = state.medflow
    for name in medflow.settings.get("handlers.modules", ["handlers"]):
        seed = getattr(importlib.import_module(name), "seed_demo", None)
        if callable(seed):
            seed(medflow)


def _deploy_line(result: dict) -> str:
    mark = "новая версия" if result["created"] else "без изменений"
    return f"{result['process_key']}  v{result['version']}  {result['bundle_hash'][:12]}  ({mark})"


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@json_option
@pass_state
def lint(state: State, paths: tuple[Path, ...], as_json: bool) -> None:
    """Проверить диаграммы без развёртывания: file:line: element-id: message."""
    load_handler_modules(list(state.settings.get("handlers.modules", ["handlers"])))
    targets = list(paths) or [state.settings.path("paths.processes", "processes")]
    problems = lint_paths(targets, handler_names(), state.settings.path("paths.forms", "forms"))
    if as_json:
        emit({"problems": [p.to_dict() for p in problems]}, True)
    else:
        for problem in problems:
            click.echo(str(problem))
        if not problems:
            click.echo("Замечаний нет.")
    sys.exit(1 if problems else 0)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--user", default="cli", help="Кто развёртывает (для журнала).")
@json_option
@pass_state
def deploy(state: State, paths: tuple[Path, ...], user: str, as_json: bool) -> None:
    """Проверить и развернуть диаграммы: ключ процесса, версия, хэш."""
    targets = list(paths) or [state.settings.path("paths.processes", "processes")]
    files = collect_files(targets)
    if not files:
        raise click.UsageError("не найдено ни одного файла .bpmn или .dmn")
    results = [r.to_dict() for r in state.medflow.definitions.deploy(files, actor=user)]
    emit(results, as_json, lambda rs: "\n".join(_deploy_line(r) for r in rs))


cli.add_command(calendar)
register_instance_commands(cli)
register_migration(cli)
register_ops_commands(cli)
register_scenarios(cli)
register_substitution_commands(cli)
register_report_command(cli)
register_web_commands(cli)


def main() -> None:
    cli(obj=State())
