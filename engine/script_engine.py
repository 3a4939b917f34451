"""Expressions, scripts and service calls of diagrams.

Diagrams are trusted material written by analysts, but expressions still run in a restricted
namespace: a whitelist of builtins and our helpers (``working_days``, ``deadline_date``, ``now``),
no ``__import__``, no ``open``. Service tasks call handlers from the registry; the original
exception is kept (SpiffWorkflow's default ``call_service`` replaces it with a NameError).
"""

from __future__ import annotations

import ast
import builtins
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from types import CodeType
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.util.task import TaskState

from engine import clock as clock_module
from engine import expression_guard, timer_guard  # noqa: F401  (timer_guard patches on import)
from engine.calendar import ProductionCalendar
from engine.handler_registry import BpmnError, CallContext, get_handler
from engine.script_budget import ScriptTimeout, run_limited

SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in ["abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int", "isinstance", "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum", "tuple", "zip", "ValueError", "KeyError", "Exception"]
}
SAFE_BUILTINS.update({"True": True, "False": False, "None": None})


class HandlerFailure(Exception):
    """A handler raised; carries the original exception and the BPMN error code if any."""

    def __init__(self, handler: str, original: BaseException) -> None:
        super().__init__(f"{handler}: {type(original).__name__}: {original}")
        self.handler = handler
        self.original = original
        self.code = original.code if isinstance(original, BpmnError) else None
        self.task: Any = None


class TimeHelpers:
    """Working-day arithmetic bound to the engine's clock, calendar and zone."""

    def __init__(self, calendar: ProductionCalendar, zone: str) -> None:
        self.calendar = calendar
        self.zone = ZoneInfo(zone)

    def _start_date(self, start: Any) -> date:
        if start is None:
            return clock_module.now().astimezone(self.zone).date()
        if isinstance(start, datetime):
            return start.astimezone(self.zone).date() if start.tzinfo else start.date()
        if isinstance(start, date):
            return start
        text = str(start)
        if len(text) == 10 and text[2] == "." and text[5] == ".":
            return datetime.strptime(text, "%d.%m.%Y").date()
        return datetime.fromisoformat(text).astimezone(self.zone).date() if "T" in text else date.fromisoformat(text)

    def deadline_date(self, n: int, start: Any = None) -> str:
        """The date of the n-th working day after ``start`` (ISO), for display."""
        return self.calendar.add_working_days(self._start_date(start), int(n)).isoformat()

    def working_days(self, n: int, start: Any = None) -> str:
        """The moment the n-th working day after ``start`` ends, as an ISO UTC time.

        A deadline of "10 working days" is met by anything done on the 10th day, so the timer
        fires at midnight (in the configured zone) after it.
        """
        day = self.calendar.add_working_days(self._start_date(start), int(n))
        end = datetime.combine(day + timedelta(days=1), time(0, 0), self.zone)
        return end.astimezone(clock_module.UTC).isoformat()

    def now(self) -> str:
        return clock_module.now().isoformat()

    def ru_date(self, value: Any = None) -> str:
        """A date as people read it, ДД.ММ.ГГГГ (``strftime`` is not available in expressions)."""
        return self._start_date(value).strftime("%d.%m.%Y")

    def namespace(self) -> dict[str, Any]:
        return {
            "__builtins__": SAFE_BUILTINS,
            "working_days": self.working_days,
            "deadline_date": self.deadline_date,
            "now": self.now,
            "ru_date": self.ru_date,
            "date": date,
            "datetime": datetime,
            "timedelta": timedelta,
            "Decimal": Decimal,
        }


@lru_cache(maxsize=4096)
def _code(text: str, mode: str) -> CodeType:
    # eval() of a string strips leading blanks; compile() does not. "<string>" is the file name
    # SpiffWorkflow looks for to report a failing script's line.
    return compile(text.lstrip(" \t") if mode == "eval" else text, "<string>", mode, dont_inherit=True)


class _CompiledEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's environment, with each expression and script compiled once per process:
    eval()/exec() of the text compiled it again at every gateway, parameter and script task."""

    def evaluate(self, expression: Any, context: Any, external_context: Any = None) -> Any:
        code = _code(expression, "eval") if isinstance(expression, str) else expression
        return super().evaluate(code, context, external_context)

    def execute(self, script: Any, context: Any, external_context: Any = None) -> Any:
        code = _code(script, "exec") if isinstance(script, str) else script
        return super().execute(code, context, external_context)


@lru_cache(maxsize=4096)
def _syntax_checked(text: str) -> None:
    ast.parse(text)


class MedflowScriptEngine(PythonScriptEngine):
    """Script engine with a restricted namespace and registry-backed service calls."""

    def validate(self, expression: str) -> None:
        # The DMN engine checks every rule's text before each evaluation: parse it once.
        _syntax_checked(expression)

    def __init__(self, helpers: TimeHelpers, context_factory: Callable[[Any, str], CallContext],
                 max_result_bytes: int = 256 * 1024, script_seconds: float = 5.0) -> None:
        super().__init__(environment=_CompiledEnvironment(helpers.namespace()))
        self._context_factory = context_factory
        self.max_result_bytes = max_result_bytes
        self.script_seconds = script_seconds

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        unsafe = expression_guard.problem(expression, "eval")
        if unsafe is not None:
            raise WorkflowTaskException(f"выражение отклонено: {unsafe}", task=task)
        try:
            return run_limited(self.script_seconds, lambda: super(MedflowScriptEngine, self).evaluate(
                task, expression, external_context))
        except ScriptTimeout as exc:
            raise WorkflowTaskException(f"выражение {exc}", task=task) from None

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        unsafe = expression_guard.problem(script, "exec")
        if unsafe is not None:
            task._set_state(TaskState.ERROR)
            raise WorkflowTaskException(f"скрипт отклонён: {unsafe}", task=task)
        before = dict(task.data)
        try:
            result = run_limited(self.script_seconds, lambda: super(MedflowScriptEngine, self).execute(
                task, script, external_context))
        except ScriptTimeout as exc:
            task.data = before  # what the loop changed before it was stopped is not kept
            task._set_state(TaskState.ERROR)
            raise WorkflowTaskException(f"скрипт {exc}", task=task) from None
        # A value the state cannot store (a generator, a map object) must fail here, at the script,
        # as an incident — not later in the save, where it would fail the whole command. The
        # failed script leaves no data behind, so the instance stays saveable.
        for name, value in task.data.items():
            try:
                json.dumps(value, default=_storable)
            except (TypeError, ValueError) as exc:
                task.data = before
                task._set_state(TaskState.ERROR)
                raise WorkflowTaskException(
                    f"скрипт оставил в данных значение, которое нельзя сохранить: {name}: "
                    f"{type(value).__name__} ({exc})", task=task) from exc
        return result

    def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:  # type: ignore[override]
        spec = get_handler(operation_name)
        if spec is None:
            raise WorkflowTaskException(f"обработчик {operation_name!r} не зарегистрирован", task=task)
        params = {name: p["value"] for name, p in operation_params.items()}
        try:
            spec.check_params(params)
            if spec.wants_context:
                result = spec.func(**params, ctx=self._context_factory(task, operation_name))
            else:
                result = spec.func(**params)
            text = json.dumps(result, ensure_ascii=False, default=_json_default)
            if len(text) > self.max_result_bytes:
                # Every later step would load and save it: refuse it like any other failure.
                raise ValueError(f"результат обработчика больше {self.max_result_bytes // 1024} КБ ({len(text)} байт)")
            return text
        except Exception as exc:  # every failure is reported with its original text
            failure = HandlerFailure(operation_name, exc)
            failure.task = task  # the stepper needs the task to decide: error path, retry or incident
            raise failure from exc


def _storable(value: Any) -> Any:
    """What the workflow serializer can store besides JSON: dates and decimals."""
    if isinstance(value, datetime | date | Decimal):
        return str(value)
    raise TypeError(f"тип {type(value).__name__} не сохраняется")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"результат обработчика не сериализуется в JSON: {type(value).__name__}")
