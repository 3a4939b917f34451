"""Static checks of BPMN/DMN bundles, run before deployment and by `medflow lint`.

Catches what SpiffWorkflow would only discover when an instance reaches the element: unknown
handlers, missing or broken forms, expressions that do not compile, unquoted ISO timer literals.

    problems = lint_paths([Path("processes")], handler_names={"check_snils"}, forms_dir=Path("forms"))
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree

from engine import expression_guard
from engine.bpmn_files import NSMAP, Document, Problem, file_kind, owner_id
from engine.parsing import analyse_bundle

_BPMN = "{" + NSMAP["bpmn"] + "}"
_SPIFF = "{" + NSMAP["spiffworkflow"] + "}"

# Unquoted ISO 8601 literals: durations (P5D, PT1H), dates/times (2026-01-01, 2026-01-01T10:00:00Z)
# and cycles (R3/PT1H). `P5D` even compiles, as a variable name, and fails only when the timer starts.
_ISO_DURATION = re.compile(r"^-?P(?=\d|T\d)[\dYMWD.,]*(T[\dHMS.,]*)?$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.,]+(Z|[+-]\d{2}:?\d{2})?)?$")
_ISO_CYCLE = re.compile(r"^R\d*/(-?P|\d{4}-)\S*$", re.IGNORECASE)
_WORKING_DAYS_CALL = re.compile(r"\bworking_days\s*\(")


def lint_bundle(
    files: Mapping[str, bytes], handler_names: Collection[str], form_files: Mapping[str, bytes]
) -> list[Problem]:
    """Every problem of a bundle; never raises for bad input."""
    try:
        bundle, problems = analyse_bundle(files)
        forms = _FormChecker(form_files)
        for document in bundle.documents().values():
            if document.kind == "bpmn":
                problems += _lint_document(document, handler_names, forms)
    except Exception as exc:  # lint must report, not crash, whatever the input
        return [Problem("-", None, None, f"Внутренняя ошибка проверки: {type(exc).__name__}: {exc}")]
    return sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0))


def lint_paths(paths: Sequence[Path], handler_names: Collection[str], forms_dir: Path) -> list[Problem]:
    """Lint files and directories (their *.bpmn and *.dmn, recursively) as one bundle."""
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    for path in paths:
        if not path.exists():
            problems.append(Problem(str(path), None, None, "Файл или папка не найдены"))
            continue
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file() and file_kind(p.name))
        else:
            candidates = [path]
        for candidate in candidates:
            if file_kind(candidate.name) is None:
                problems.append(Problem(str(candidate), None, None, "Неизвестный тип файла: ожидается .bpmn или .dmn"))
                continue
            try:
                files[str(candidate)] = candidate.read_bytes()
            except OSError as exc:
                problems.append(Problem(str(candidate), None, None, f"Файл не читается: {exc.strerror or exc}"))
    if files:
        problems += lint_bundle(files, handler_names, _FormDirectory(forms_dir))
    return problems


class _FormDirectory(Mapping[str, bytes]):
    """Forms read on demand, so lint opens only the files the diagrams reference."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, name: str) -> Path | None:
        path = (self._root / name).resolve()
        # A form name is data written by an analyst: it must not reach outside the forms folder.
        return path if path.is_relative_to(self._root) and path.is_file() else None

    def __getitem__(self, name: str) -> bytes:
        path = self._path(name)
        if path is None:
            raise KeyError(name)
        return path.read_bytes()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._path(name) is not None

    def __iter__(self) -> Iterator[str]:
        if self._root.is_dir():
            yield from (p.relative_to(self._root).as_posix() for p in sorted(self._root.rglob("*")) if p.is_file())

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _schema_checker() -> Callable[[object], list[str]]:
    # engine/forms.py owns the project's schema rules (custom formats); it may be absent or half-written.
    try:
        check = getattr(importlib.import_module("engine.forms"), "check_schema", None)
    except Exception:  # any import failure means: use plain jsonschema
        check = None
    if not callable(check):
        return _jsonschema_errors

    def checked(schema: object) -> list[str]:
        try:
            return [str(message) for message in check(schema)]
        except Exception:  # their checker failing is not the analyst's problem
            return _jsonschema_errors(schema)

    return checked


def _jsonschema_errors(schema: object) -> list[str]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        return [f"{where}: {exc.message}" if where else exc.message]
    return []


class _FormChecker:
    """Checks each referenced form file once, however many tasks use it."""

    def __init__(self, form_files: Mapping[str, bytes]) -> None:
        self._files = form_files
        self._results: dict[tuple[str, bool], str | None] = {}
        self._check_schema = _schema_checker()

    def problem(self, name: str, is_schema: bool) -> str | None:
        if (name, is_schema) not in self._results:
            self._results[(name, is_schema)] = self._check(name, is_schema)
        return self._results[(name, is_schema)]

    def _check(self, name: str, is_schema: bool) -> str | None:
        try:
            content = self._files[name]
        except KeyError:
            return f"Файл формы «{name}» не найден"
        except OSError as exc:
            return f"Файл формы «{name}» не читается: {exc.strerror or exc}"
        try:
            data = json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"Файл формы «{name}» — не JSON: {exc}"
        if not is_schema:
            return None
        errors = self._check_schema(data)
        return f"Файл формы «{name}» — неверная JSON Schema: {'; '.join(errors)}" if errors else None


def _executable_processes(root: etree._Element) -> Iterator[etree._Element]:
    # Non-executable processes are documentation: their free-text conditions are not code.
    for process in root.iter(_BPMN + "process"):
        if process.get("isExecutable", "true") == "true":
            yield process


def _lint_document(document: Document, handler_names: Collection[str], forms: _FormChecker) -> list[Problem]:
    problems: list[Problem] = []

    def report(element: etree._Element, message: str, line_offset: int = 0) -> None:
        problems.append(Problem(document.name, (element.sourceline or 0) + line_offset or None,
                                owner_id(element), message))

    for process in _executable_processes(document.root):
        for operator in process.iter(_SPIFF + "serviceTaskOperator"):
            _lint_operator(operator, handler_names, report)
        for prop in process.iter(_SPIFF + "property"):
            _lint_form_property(prop, forms, report)
        for timer in process.iter(_BPMN + "timerEventDefinition"):
            for body in timer:
                if isinstance(body.tag, str) and etree.QName(body).localname in ("timeDate", "timeDuration", "timeCycle"):
                    _lint_timer(body, report)
        for tag, label in ((_BPMN + "conditionExpression", "Условие перехода"), (_BPMN + "condition", "Условие события")):
            for condition in process.iter(tag):
                _lint_expression(condition, condition.text, label, report)
        for tag, label in ((_BPMN + "script", "Скрипт"), (_SPIFF + "preScript", "Пред-скрипт"),
                           (_SPIFF + "postScript", "Пост-скрипт")):
            for script in process.iter(tag):
                _lint_script(script, label, report)
    return problems


Report = Callable[..., None]


def _compile_error(text: str, mode: str) -> SyntaxError | ValueError | None:
    try:
        compile(text, "<expr>", mode)
    except (SyntaxError, ValueError) as exc:
        return exc
    return None


def _describe(exc: SyntaxError | ValueError) -> str:
    return exc.msg if isinstance(exc, SyntaxError) else str(exc)


def _lint_expression(element: etree._Element, text: str | None, label: str, report: Report) -> None:
    if not text or not text.strip():
        return
    # eval() drops leading spaces and tabs of the first line; compile() does not, so mirror eval.
    error = _compile_error(text.lstrip(" \t"), "eval")
    if error is not None:
        report(element, f"{label}: выражение Python не компилируется ({_describe(error)}): {text.strip()}")
        return
    unsafe = expression_guard.problem(text, "eval")
    if unsafe is not None:
        report(element, f"{label}: {unsafe}: {text.strip()}")


def _lint_script(element: etree._Element, label: str, report: Report) -> None:
    text = element.text or ""
    if not text.strip():
        return
    error = _compile_error(text, "exec")
    if error is not None:
        offset = (error.lineno or 1) - 1 if isinstance(error, SyntaxError) else 0
        report(element, f"{label}: код Python не компилируется ({_describe(error)})", offset)
        return
    unsafe = expression_guard.problem(text, "exec")
    if unsafe is not None:
        report(element, f"{label}: {unsafe}")


def _lint_operator(operator: etree._Element, handler_names: Collection[str], report: Report) -> None:
    name = operator.get("id") or ""
    if name not in handler_names:
        report(operator, f"Обработчик «{name}» не зарегистрирован")
    for param in operator.iter(_SPIFF + "parameter"):
        value = param.get("value")
        if value is not None:
            _lint_expression(param, value, f"Параметр «{param.get('id')}» обработчика «{name}»", report)


def _lint_form_property(prop: etree._Element, forms: _FormChecker, report: Report) -> None:
    kind = prop.get("name")
    if kind not in ("formJsonSchemaFilename", "formUiSchemaFilename") or not prop.get("value"):
        return
    message = forms.problem(prop.get("value") or "", is_schema=kind == "formJsonSchemaFilename")
    if message:
        report(prop, message)


def _lint_timer(body: etree._Element, report: Report) -> None:
    kind = etree.QName(body).localname
    text = (body.text or "").strip()
    if not text:
        report(body, f"Пустое выражение таймера ({kind})")
        return
    for pattern, noun in ((_ISO_DURATION, "ISO-длительность"), (_ISO_DATE, "ISO-дата"), (_ISO_CYCLE, "ISO-цикл")):
        if pattern.match(text):
            report(body, f'{noun} должна быть в кавычках: "{text}"' if noun != "ISO-цикл"
                   else f'{noun} должен быть в кавычках: "{text}"')
            return
    if kind == "timeDuration" and _WORKING_DAYS_CALL.search(text):
        report(body, "working_days() возвращает момент времени, а не длительность: "
                     "срок в рабочих днях задаётся таймером timeDate")
        return
    _lint_expression(body, text, f"Выражение таймера ({kind})", report)
