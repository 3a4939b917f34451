"""Turn a bundle of BPMN/DMN files into executable SpiffWorkflow specs.

Every failure (XML syntax, XSD, SpiffWorkflow's own parser) becomes a `Problem` naming the file, the
line and the element id, because the people who read these messages are analysts, not programmers.

    bundle = parse_bundle({"medbook.bpmn": data, "decisions/fees.dmn": table})
    spec, subprocess_specs = bundle.spec_for("medbook")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from engine.bpmn_files import (
    BPMN_TAG,
    NSMAP,
    DefinitionError,
    Document,
    Problem,
    file_kind,
    has_element_id,
    load_xml,
    schema_problems,
)

Specs = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


# SpiffWorkflow speaks English; analysts get a Russian sentence with the original kept for support.
_TRANSLATIONS = (
    ("A Service Task must have an operator", "У сервисной задачи не указан обработчик (spiffworkflow:serviceTaskOperator)"),
    ("There is no support implemented for this task type", "Движок не поддерживает этот тип элемента"),
    ("No start event found", "В процессе нет стартового события"),
    ("Exactly one start event is required", "В подпроцессе должно быть ровно одно стартовое событие"),
    ("Duplicate process ID", "Процесс с таким id уже есть в наборе"),
    ("Multiple outgoing flows are not supported", "У этого элемента не может быть нескольких исходящих потоков"),
    ("A multiinstance task must specify", "Для многоэкземплярной задачи не указано количество или входная коллекция"),
    ("Cannot resolve data", "Не найден объект данных, на который ссылается ассоциация"),
    ("Time Specification Error", "Ошибка в определении таймера"),
    ("No DMN Diagram available", "Таблица решений DMN не найдена"),
    ("Multiple decision tables", "В одном файле DMN поддерживается только одно решение"),
)


def problem_from_exception(exc: BaseException, file: str, documents: Mapping[str, Document]) -> Problem:
    """Locate a parser exception; ValidationException never carries a usable line, so look it up."""
    element_id, line = None, None
    if isinstance(exc, ValidationException):
        file, element_id = exc.file_name or file, exc.id or None
        line = exc.line_number if isinstance(exc.line_number, int) and exc.line_number > 0 else None
    if line is None and element_id:
        candidates = [documents[file]] if file in documents else []
        candidates += [d for d in documents.values() if element_id in d.lines]
        document = next((d for d in candidates if element_id in d.lines), None)
        if document is not None:
            file, line = document.name, document.lines[element_id]
    original = (str(exc.args[0]) if exc.args else str(exc)).strip()
    message = next((f"{russian} ({original})" for prefix, russian in _TRANSLATIONS if prefix in original), None)
    if message is None:
        detail = original if isinstance(exc, ValidationException) else f"{type(exc).__name__}: {original}"
        message = f"Ошибка разбора: {detail}"
    return Problem(file, line, element_id, message)


class ParsedBundle:
    """Specs of one bundle, ready for BpmnWorkflow(spec, subprocess_specs)."""

    def __init__(self, documents: Sequence[Document], specs: Mapping[str, Specs],
                 names: Mapping[str, str], skipped: Sequence[str]) -> None:
        self._documents = {document.name: document for document in documents}
        self._specs = dict(specs)
        self._names = dict(names)
        self._skipped = list(skipped)
        self._index: dict[str, tuple[str, int]] = {}
        for document in documents:
            for element_id, line in document.lines.items():
                self._index.setdefault(element_id, (document.name, line))

    def process_keys(self) -> list[str]:
        return list(self._specs)

    def skipped_process_keys(self) -> list[str]:
        """Top-level processes marked isExecutable="false": kept for the modeler, never started."""
        return list(self._skipped)

    def spec_for(self, process_key: str) -> Specs:
        if process_key not in self._specs:
            raise KeyError(f"В наборе нет исполняемого процесса «{process_key}»")
        spec, subprocesses = self._specs[process_key]
        return spec, dict(subprocesses)

    def process_names(self) -> dict[str, str]:
        return {key: self._names[key] for key in self._specs}

    def element_index(self) -> dict[str, tuple[str, int]]:
        """Element id -> (file, line); when two files reuse an id the first file wins, see locate()."""
        return dict(self._index)

    def locate(self, element_id: str, file: str | None = None) -> tuple[str, int] | None:
        """Prefer `file` (a spec's .file): modelers reuse ids such as StartEvent_1 in every diagram."""
        document = self._documents.get(file or "")
        if document is not None and element_id in document.lines:
            return document.name, document.lines[element_id]
        return self._index.get(element_id)

    def user_task_forms(self) -> list[tuple[str, str, str | None, str | None]]:
        """(process key, element id, form schema file, UI schema file) for every user task.

        The key is the spec holding the task (a called process's key, or an embedded subprocess's
        id), which is also what a running task reports as its workflow spec.
        """
        found: dict[tuple[str, str], tuple[str, str, str | None, str | None]] = {}
        for spec, subprocesses in self._specs.values():
            for holder in (spec, *subprocesses.values()):
                for task_spec in holder.task_specs.values() if holder is not None else ():
                    if isinstance(task_spec, UserTask):
                        props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
                        found[(holder.name, task_spec.bpmn_id)] = (
                            holder.name, task_spec.bpmn_id,
                            props.get("formJsonSchemaFilename"), props.get("formUiSchemaFilename"))
        return list(found.values())

    def documents(self) -> dict[str, Document]:
        return dict(self._documents)


def parse_bundle(files: Mapping[str, bytes]) -> ParsedBundle:
    """Parse the .bpmn and .dmn files of a bundle (other files, such as forms, are ignored).

    Raises DefinitionError listing every problem found.
    """
    bundle, problems = analyse_bundle(files)
    if problems:
        raise DefinitionError(problems)
    return bundle


def analyse_bundle(files: Mapping[str, bytes]) -> tuple[ParsedBundle, list[Problem]]:
    """Parse as much as possible and return the problems instead of raising (lint uses this)."""
    problems: list[Problem] = []
    documents: list[Document] = []
    schema_valid: set[str] = set()
    unreadable_bpmn = False
    for name in sorted(files):
        kind = file_kind(name)
        if kind is None:
            continue
        root = load_xml(name, files[name])
        if isinstance(root, Problem):
            problems.append(root)
            unreadable_bpmn = unreadable_bpmn or kind == "bpmn"
            continue
        found = schema_problems(name, kind, root)
        problems += found
        if not found:
            schema_valid.add(name)
        lines: dict[str, int] = {}
        for element in root.iter():
            if has_element_id(element):
                lines.setdefault(element.get("id"), element.sourceline or 0)
        documents.append(Document(name, kind, root, lines))
    builder = _Builder(documents, schema_valid)
    problems += builder.build()
    if not builder.executable and not unreadable_bpmn:
        problems.append(builder.no_executable_problem(files))
    bundle = ParsedBundle(documents, builder.specs, builder.names, builder.skipped)
    return bundle, list(dict.fromkeys(problems))


class _Builder:
    """Feeds schema-valid documents to SpiffBpmnParser and turns each failure into a Problem."""

    def __init__(self, documents: Sequence[Document], schema_valid: set[str]) -> None:
        self.documents = {document.name: document for document in documents}
        # Files that broke the schema are not parsed: SpiffWorkflow would only add cascading noise.
        self.usable = [document for document in documents if document.name in schema_valid]
        self.parser = SpiffBpmnParser()
        self.specs: dict[str, Specs] = {}
        self.names: dict[str, str] = {}
        self.skipped: list[str] = []
        self.executable: list[str] = []
        self.calls: dict[str, set[str]] = {}
        self.broken: set[str] = set()
        self.flagged: set[tuple[str, str | None]] = set()
        self.problems: list[Problem] = []

    def build(self) -> list[Problem]:
        for document in self.usable:
            if document.kind == "dmn":
                self._add_dmn(document)
        decisions = {decision.get("id") for document in self.documents.values() if document.kind == "dmn"
                     for decision in document.root.iter("{*}decision")}
        processes = self._top_level_processes()
        for document in self.usable:
            if document.kind == "bpmn" and self._data_stores_supported(document):
                self._guard(document.name, self.parser.add_bpmn_xml, document.root, document.name)
        for key in self.executable:
            self._check_references(key, *processes[key], decisions)
        # A process whose file was not parsed (already reported) breaks every process that calls it.
        known = set(self.parser.process_parsers)
        self.broken.update(key for key in self.executable if key not in known)
        for key in [key for key in self.executable if key in known]:
            if not self._guard(processes[key][0].name, self.parser.get_spec, key):
                self.broken.add(key)
        # After a failed parse SpiffWorkflow hands out the half-built spec without complaint, so
        # nothing that reaches a broken process may get specs.
        for key in self.executable:
            if not self._closure(key) & self.broken:
                self._guard(processes[key][0].name, self._store_specs, key)
        return self.problems

    def _store_specs(self, key: str) -> None:
        subprocesses = self.parser.get_subprocess_specs(key)
        self.specs[key] = (self.parser.get_spec(key), subprocesses)

    def _guard(self, file: str, call: Callable[..., object], *args: object) -> bool:
        try:
            call(*args)
        except Exception as exc:  # every parser failure, whatever its type, must become a Problem
            problem = problem_from_exception(exc, file, self.documents)
            # A reference already reported in plain words fails again inside SpiffWorkflow.
            if (problem.file, problem.element_id) not in self.flagged:
                self.problems.append(problem)
            return False
        return True

    def _add_dmn(self, document: Document) -> None:
        decision = document.root.find("{*}decision")
        decision_id = decision.get("id") if decision is not None else None
        if decision_id and decision_id in self.parser.dmn_parsers:
            self.problems.append(Problem(document.name, decision.sourceline, decision_id,
                                         f"Таблица решений «{decision_id}» уже определена в другом файле"))
        elif self._guard(document.name, self.parser.add_dmn_xml, document.root, document.name) and decision_id:
            # SpiffWorkflow reads a table only when a task first needs it; read now to report early.
            self._guard(document.name, self.parser.dmn_parsers[decision_id].parse)

    def _top_level_processes(self) -> dict[str, tuple[Document, etree._Element]]:
        processes: dict[str, tuple[Document, etree._Element]] = {}
        for document in self.documents.values():
            for process in document.root.iter(BPMN_TAG + "process") if document.kind == "bpmn" else ():
                key = process.get("id")
                if key and key not in processes:
                    processes[key] = (document, process)
                    self.names[key] = process.get("name") or key
                    self.calls[key] = {call.get("calledElement") or "" for call in process.iter(BPMN_TAG + "callActivity")}
                    # SpiffWorkflow treats a missing isExecutable as executable; so do we.
                    executable = process.get("isExecutable", "true") == "true"
                    (self.executable if executable else self.skipped).append(key)
        return processes

    def _data_stores_supported(self, document: Document) -> bool:
        # SpiffWorkflow rejects the whole file on an unknown data store without naming the element.
        unsupported = [store for store in document.root.iter(BPMN_TAG + "dataStore")
                       if store.get("name") not in self.parser.DATA_STORE_CLASSES]
        for store in unsupported:
            name = " ".join((store.get("name") or "").split())
            self.problems.append(Problem(document.name, store.sourceline, store.get("id"),
                                         f"Хранилище данных «{name}» движком не поддерживается"))
        return not unsupported

    def _check_references(self, key: str, document: Document, process: etree._Element, decisions: set[str]) -> None:
        for call in process.iter(BPMN_TAG + "callActivity"):
            called = call.get("calledElement")
            if called and called not in self.names:
                self._flag(key, document, call, f"Вызываемый процесс «{called}» не найден в наборе")
            elif called and called in self.skipped:
                self._flag(key, document, call, f"Вызываемый процесс «{called}» не исполняемый (isExecutable=\"false\")")
        for task in process.iter(BPMN_TAG + "businessRuleTask"):
            ref = task.find("bpmn:extensionElements/spiffworkflow:calledDecisionId", NSMAP)
            decision = (ref.text or "").strip() if ref is not None else ""
            if not decision:
                self._flag(key, document, task, "Не указана таблица решений (spiffworkflow:calledDecisionId)")
            elif decision not in decisions:
                self._flag(key, document, task, f"Таблица решений DMN «{decision}» не найдена в наборе")
            elif decision not in self.parser.dmn_parsers:  # its DMN file is broken and already reported
                self._flag(key, document, task, None)

    def _flag(self, key: str, document: Document, element: etree._Element, message: str | None) -> None:
        self.broken.add(key)
        self.flagged.add((document.name, element.get("id")))
        if message:
            self.problems.append(Problem(document.name, element.sourceline, element.get("id"), message))

    def _closure(self, key: str) -> set[str]:
        seen, pending = set(), [key]
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                pending.extend(self.calls.get(current, ()))
        return seen

    def no_executable_problem(self, files: Mapping[str, bytes]) -> Problem:
        for document in self.documents.values():
            process = document.root.find(BPMN_TAG + "process") if document.kind == "bpmn" else None
            if process is not None:
                return Problem(document.name, process.sourceline, process.get("id"),
                               "В наборе нет исполняемого процесса: отметьте процесс isExecutable=\"true\"")
        bpmn_files = sorted(name for name in files if file_kind(name) == "bpmn")
        if bpmn_files:
            return Problem(bpmn_files[0], None, None, "В файле нет ни одного процесса (bpmn:process)")
        return Problem(next(iter(sorted(files)), "-"), None, None, "В наборе нет ни одного файла BPMN")
