"""What every `medflow` command shares: the engine handle, --json output, data arguments and
turning errors into a Russian message with a non-zero exit code instead of a traceback."""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from engine.bootstrap import MedFlow, build
from engine.config import ConfigError, Settings, load_settings
from engine.db import DatabaseUnavailable, is_lock_timeout
from engine.errors import EngineError, ValidationFailed
from engine.parsing import DefinitionError


class State:
    def __init__(self) -> None:
        self._medflow: MedFlow | None = None
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def medflow(self) -> MedFlow:
        if self._medflow is None:
            self._medflow = build(self.settings)
        return self._medflow


pass_state = click.make_pass_decorator(State, ensure=True)


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif callable(human):
        click.echo(human(data))
    elif human is not None:
        click.echo(human)
    else:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def read_data(value: str | None) -> dict[str, Any]:
    """``--data '{"a": 1}'`` or ``--data @file.json``."""
    if not value:
        return {}
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"не удалось прочитать файл {value[1:]}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"данные не являются JSON: {exc.msg} (строка {exc.lineno}, позиция {exc.colno})") from exc
    if not isinstance(data, dict):
        raise click.BadParameter("данные должны быть объектом JSON: {...}")
    return data


class MedflowGroup(click.Group):
    """Turns every known failure into a message and exit code 1; never shows a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        as_json = "--json" in sys.argv
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ValidationFailed as exc:
            _fail(exc.to_dict(), as_json, [exc.message] + [f"  {e['field'] or '(форма)'}: {e['message']}" for e in exc.errors])
        except EngineError as exc:
            _fail(exc.to_dict(), as_json, [exc.message])
        except DefinitionError as exc:
            _fail({"error": "definition_invalid", "problems": [p.to_dict() for p in exc.problems]}, as_json,
                  [str(p) for p in exc.problems])
        except (DatabaseUnavailable, ConfigError) as exc:
            _fail({"error": "unavailable", "message": str(exc)}, as_json, [str(exc)])
        except OperationalError as exc:
            if is_lock_timeout(exc):
                busy = ("Данные сейчас изменяет другой процесс дольше database.lock_timeout_seconds. "
                        "Ничего не изменено — повторите команду.")
                _fail({"error": "busy", "message": busy}, as_json, [busy])
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            _fail({"error": "unavailable", "message": f"База данных недоступна: {reason}"}, as_json,
                  [f"База данных недоступна: {reason}"])
        except Exception as exc:  # the last resort: a message, the traceback only on request
            if os.environ.get("MEDFLOW_DEBUG"):
                traceback.print_exc()
            _fail({"error": "internal", "message": f"{type(exc).__name__}: {exc}"}, as_json,
                  [f"Внутренняя ошибка: {type(exc).__name__}: {exc}", "(подробности: MEDFLOW_DEBUG=1)"])


def _fail(payload: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line, err=True)
    sys.exit(1)


json_option = click.option("--json", "as_json", is_flag=True, help="Вывод в JSON для скриптов.")
