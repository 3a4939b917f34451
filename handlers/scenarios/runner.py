"""Scenario files: the analysts' tests of a procedure, in YAML, with a readable report.

A scenario is a list of steps run against a deployed engine with simulated time::

    name: Медкнижка — успешное оформление
    start_at: 2026-04-23 12:00            # Moscow time (the configured zone)
    documents:                            # files uploaded before the steps; "$doc:passport" in data
      passport: {name: passport.pdf, kind: pdf}          # kind: pdf | jpeg | png | text (dpi: 300)
    steps:
      - start: {process: medbook_issuance, as: ivanova}
      - complete:
          task: submit_application        # element id of the user task
          as: ivanova
          data: {applicant: {$demo_applicant: 0}, documents: {passport_scan: $doc:passport}}
      - expect: {portal_status: Заявление принято к рассмотрению, open_tasks: [review]}
      - advance: 11 working days          # or 3d, 2h, 30m; set_time: 2026-05-12 10:00
      - run_timers                        # the timer worker's tick
      - send: {message: resubmission, data: {corrections: {...}}}
      - pay                               # the applicant pays the open order (local gateway)
      - expect:
          notifications: [{kind: staff_reminder, to: medbook_operators@medflow.local}]

``complete`` and ``start`` accept ``expect_error: {field: part of the message}`` for a form that
must be rejected. ``expect`` keys: status, portal_status, open_tasks, tasks (group / due / overdue
per element id), timers (due day per element id), data (dotted path → value or {contains: text}),
notifications, no_notifications, tickets, history (status names in order). Steps and checks
may name an application with ``instance:`` when a scenario files more than one (``start: {name: …}``).

>>> report = run_scenario(medflow, Path("processes/scenarios/medbook_happy_path.yaml"))  # doctest: +SKIP
>>> print(report.text())                                                              # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.bootstrap import MedFlow
from engine.config import Settings
from engine.errors import EngineError, ValidationFailed
from handlers.scenarios.expectations import check_expectations
from handlers.scenarios.session import ScenarioError, ScenarioSession

STEP_KINDS = ("start", "complete", "send", "advance", "set_time", "run_timers", "upload", "expect", "note",
              "deliver_notifications", "pay")


@dataclass
class StepOutcome:
    number: int
    title: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    name: str
    path: str
    steps: list[StepOutcome] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(step.ok for step in self.steps)

    def text(self) -> str:
        lines = [f"Сценарий «{self.name}» ({self.path})"]
        for step in self.steps:
            mark = "✓" if step.ok else "✗"
            lines.append(f"  {mark} {step.number}. {step.title}" + (f" — {step.detail}" if step.detail else ""))
        if self.error:
            lines.append(f"  ✗ {self.error}")
        failed = next((s.number for s in self.steps if not s.ok), None)
        verdict = "пройден" if self.ok else f"не пройден (шаг {failed})" if failed else "не пройден"
        lines.append(f"Итог: {verdict}")
        return "\n".join(lines)


def load_scenario(path: Path) -> dict[str, Any]:
    try:
        scenario = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"файл не читается как YAML: {exc}") from exc
    if not isinstance(scenario, dict) or not isinstance(scenario.get("steps"), list):
        raise ScenarioError("ожидается словарь с ключами name и steps (список шагов)")
    unknown = set(scenario) - {"name", "description", "start_at", "documents", "steps"}
    if unknown:
        raise ScenarioError(f"неизвестные ключи сценария: {', '.join(sorted(unknown))}")
    return scenario


def _step_kind(step: Any) -> tuple[str, Any]:
    if isinstance(step, str) and step in STEP_KINDS:
        return step, None
    if isinstance(step, dict) and len(step) == 1:
        kind, value = next(iter(step.items()))
        if kind in STEP_KINDS:
            return kind, value
    raise ScenarioError(f"непонятный шаг {step!r}: ожидается один из {', '.join(STEP_KINDS)}")


def _require(value: Any, keys: tuple[str, ...], kind: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"шаг {kind}: ожидается словарь с ключами {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ScenarioError(f"шаг {kind}: не хватает {', '.join(missing)}")
    return value


def _form_errors(exc: ValidationFailed) -> dict[str, str]:
    return {e.get("field", ""): e.get("message", "") for e in exc.errors}


def _check_rejection(exc: ValidationFailed | None, expected: Any) -> str:
    if exc is None:
        raise ScenarioError(f"ожидалась ошибка формы {expected}, но данные приняты")
    errors = _form_errors(exc)
    wanted = expected if isinstance(expected, dict) else {name: "" for name in expected}
    for name, part in wanted.items():
        if name not in errors:
            raise ScenarioError(f"ожидалась ошибка в поле «{name}», а ошибки в: {', '.join(errors) or 'нет'}")
        if part and str(part) not in errors[name]:
            raise ScenarioError(f"поле «{name}»: ожидалось «{part}» в сообщении «{errors[name]}»")
    return "отклонено: " + "; ".join(f"{k}: {v}" for k, v in errors.items())


def _act(session: ScenarioSession, kind: str, value: Any) -> tuple[str, str]:
    """Run one step; returns (title, detail)."""
    if kind == "note":
        return f"примечание: {value}", ""
    if kind == "advance":
        now = session.advance(str(value))
        return f"прошло {value}", f"теперь {now.astimezone(session.zone):%d.%m.%Y %H:%M}"
    if kind == "set_time":
        now = session.set_time(str(value))
        return f"время {value}", f"{now.astimezone(session.zone):%d.%m.%Y %H:%M}"
    if kind == "run_timers":
        return "сработали таймеры", f"{session.run_timers()} шт."
    if kind == "pay":
        instance = value.get("instance") if isinstance(value, dict) else None
        return "заявитель оплатил счёт", f"{session.pay(instance)} ₽"
    if kind == "deliver_notifications":
        return "отправка уведомлений", f"{session.deliver_notifications()} шт."
    if kind == "upload":
        spec = _require(value, ("alias", "name", "kind"), kind)
        session.upload(spec["alias"], spec["name"], spec["kind"], **{k: v for k, v in spec.items()
                                                                      if k not in ("alias", "name", "kind")})
        return f"загружен файл {spec['name']} как «{spec['alias']}»", ""
    if kind == "expect":
        if not isinstance(value, dict):
            raise ScenarioError("шаг expect: ожидается словарь проверок")
        checked = check_expectations(session, value)
        return "проверка: " + ", ".join(checked), ""
    expected_error = value.get("expect_error") if isinstance(value, dict) else None
    rejected: ValidationFailed | None = None
    detail = ""
    try:
        if kind == "start":
            spec = _require(value, ("process", "as"), kind)
            key = session.start(spec["process"], spec["as"], spec.get("data"), spec.get("name", "main"))
            title, detail = f"{spec['as']} подаёт {spec['process']}", key
        elif kind == "complete":
            spec = _require(value, ("task", "as"), kind)
            title = f"{spec['as']} выполняет «{spec['task']}»"
            result = session.complete(spec["task"], spec["as"], spec.get("data") or {}, spec.get("instance"))
            detail = str(result.get("portal_status") or "")
        else:  # send
            spec = _require(value, ("message",), kind)
            title = f"сообщение «{spec['message']}»"
            session.send(spec["message"], spec.get("data"), spec.get("instance"), spec.get("as", "portal"))
    except ValidationFailed as exc:
        if expected_error is None:
            raise ScenarioError("форма отклонена: " + "; ".join(f"{k}: {v}" for k, v in _form_errors(exc).items())) \
                from exc
        rejected = exc
        title = f"{value.get('as', '')} отправляет форму «{value.get('task', value.get('process', ''))}»"
    if expected_error is not None:
        detail = _check_rejection(rejected, expected_error)
    _fail_on_incident(session, value.get("instance") if isinstance(value, dict) else None)
    return title, detail


def _fail_on_incident(session: ScenarioSession, instance: str | None) -> None:
    """An incident is a defect of the diagram, not a business outcome: say so at the step that caused it."""
    if session.current is None:
        return
    inst = session.instance(instance)
    if inst["status"] == "incident":
        problems = "; ".join(f"{i['element_id']}: {i['error']}" for i in inst["incidents"] if i["status"] == "open")
        raise ScenarioError(f"процесс остановлен с инцидентом — {problems}")


def _brief(step: Any) -> str:
    if isinstance(step, dict) and len(step) == 1:
        kind, value = next(iter(step.items()))
        if isinstance(value, dict):
            named = value.get("task") or value.get("process") or value.get("message")
            return f"{kind} {named}" if named else f"{kind}: {', '.join(map(str, value))}"
        return f"{kind} {value}"
    return str(step)[:60]


def run_scenario(medflow: MedFlow, path: Path) -> Report:
    """Run one scenario file against ``medflow`` (processes deployed, simulated clock)."""
    report = Report(name=path.stem, path=str(path))
    try:
        scenario = load_scenario(path)
        report.name = str(scenario.get("name") or path.stem)
        session = ScenarioSession(medflow)
        if scenario.get("start_at"):
            session.set_time(str(scenario["start_at"]))
        for alias, spec in (scenario.get("documents") or {}).items():
            spec = _require(spec, ("name", "kind"), "documents")
            session.upload(alias, spec["name"], spec["kind"], **{k: v for k, v in spec.items() if k not in ("name", "kind")})
    except (ScenarioError, EngineError, OSError, ValueError) as exc:
        report.error = f"сценарий не загружен: {exc}"
        return report
    for number, step in enumerate(scenario["steps"], start=1):
        title = _brief(step)
        try:
            kind, value = _step_kind(step)
            title, detail = _act(session, kind, value)
            report.steps.append(StepOutcome(number, title, True, detail))
        except (ScenarioError, EngineError, ValueError, KeyError, TypeError) as exc:
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            report.steps.append(StepOutcome(number, title, False, message))
            break  # later steps depend on this one
    return report


def run_scenario_files(paths: list[Path], settings: Settings) -> list[Report]:
    """Each file against its own throw-away engine: a temporary SQLite database, simulated time,
    the processes of ``paths.processes`` deployed — so scenarios never touch real data."""
    import tempfile
    from datetime import UTC, datetime

    from engine.bootstrap import build
    from engine.clock import SimulatedClock
    from engine.definitions import collect_files
    from handlers.installation import seed_demo

    reports = []
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="medflow-scenario-") as tmp:
            scenario_settings = settings.with_overrides({
                "database.url": f"sqlite:///{Path(tmp) / 'scenario.db'}", "clock": "simulated",
                "mode": "development", "paths.documents": str(Path(tmp) / "documents"),
            })
            medflow = build(scenario_settings, clock=SimulatedClock(datetime.now(UTC)))
            try:
                seed_demo(medflow)
                medflow.definitions.deploy(collect_files([settings.path("paths.processes", "processes")]), actor="scenario")
                reports.append(run_scenario(medflow, path))
            finally:
                medflow.db.dispose()
    return reports
