"""The files of a definition bundle as XML: loaded safely, checked against the BPMN/DMN schemas,
and every problem located by file, line and the element an analyst sees in the modeler.

:mod:`engine.parsing` turns the loaded documents into SpiffWorkflow specs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import VALIDATOR

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
MAX_FILE_BYTES = 10 * 1024 * 1024
BPMN_TAG = "{" + BPMN_NS + "}"

Kind = Literal["bpmn", "dmn"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, located so that an analyst can open the file at that line."""

    file: str
    line: int | None
    element_id: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line or 0}: {self.element_id or '-'}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class DefinitionError(Exception):
    """A bundle cannot be deployed; `problems` lists every reason found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class Document:
    """A parsed file of the bundle and the line of each element id in it."""

    name: str
    kind: Kind
    root: etree._Element
    lines: dict[str, int] = field(repr=False)


def file_kind(name: str) -> Kind | None:
    lowered = name.lower()
    return "bpmn" if lowered.endswith(".bpmn") else "dmn" if lowered.endswith(".dmn") else None


def load_xml(name: str, content: bytes) -> etree._Element | Problem:
    if len(content) > MAX_FILE_BYTES:
        return Problem(name, None, None, f"Файл слишком большой (больше {MAX_FILE_BYTES} байт)")
    # A fresh parser per file, since lxml parsers must not be shared between threads. Entities stay
    # unexpanded and nothing is fetched, so billion-laughs and XXE cannot bite even before the
    # DOCTYPE check below; SpiffWorkflow itself would use lxml's permissive default parser.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else None)
        return Problem(name, line or None, None, f"Ошибка синтаксиса XML: {exc.msg}")
    except (ValueError, etree.LxmlError) as exc:
        return Problem(name, None, None, f"Файл не читается как XML: {exc}")
    docinfo = root.getroottree().docinfo
    # BPMN and DMN never need a DTD; refusing every DOCTYPE is simpler than judging which are harmless.
    if docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        entities = docinfo.internalDTD is not None and any(docinfo.internalDTD.iterentities())
        reason = "объявления сущностей (ENTITY)" if entities else "DOCTYPE"
        return Problem(name, 1, None, f"Файл отклонён: {reason} в BPMN/DMN не допускаются")
    return root


# lxml schema objects keep one shared error_log, so concurrent deployments must take turns.
_SCHEMA_LOCK = threading.Lock()
_DMN_VALIDATORS: dict[str, BpmnValidator] = {}
_SHORT_NAMESPACES = {BPMN_TAG: "bpmn:", "{" + SPIFF_NS + "}": "spiffworkflow:"}


def _validator_for(kind: Kind, root: etree._Element) -> BpmnValidator | None:
    if kind == "bpmn":
        return VALIDATOR
    # The same rule SpiffWorkflow's BpmnDmnParser uses to pick the DMN namespace.
    namespace = root.nsmap.get(None) if None in root.nsmap else root.nsmap.get("dmn")
    schema_path = DMN_SCHEMAS.get(namespace or "")
    if schema_path is None:
        return None  # SpiffWorkflow does not validate unknown DMN versions either
    if namespace not in _DMN_VALIDATORS:
        _DMN_VALIDATORS[namespace] = BpmnValidator(schema_path)
    return _DMN_VALIDATORS[namespace]


def schema_problems(name: str, kind: Kind, root: etree._Element) -> list[Problem]:
    # Validated here rather than by passing VALIDATOR to SpiffBpmnParser(validator=...): the parser
    # reports only the last XSD error and reads it from the shared error_log without a lock.
    with _SCHEMA_LOCK:
        validator = _validator_for(kind, root)
        if validator is None:
            return []
        validator.preprocess(root)  # the tag rewrite SpiffWorkflow applies before validating
        if validator.validator.validate(root):
            return []
        entries = [(entry.line, entry.message) for entry in validator.validator.error_log]
    problems = []
    for line, message in entries:
        for long, short in _SHORT_NAMESPACES.items():
            message = message.replace(long, short)
        element = next((e for e in root.iter() if e.sourceline == line), None)
        problems.append(Problem(name, line or None, owner_id(element) if element is not None else None,
                                f"Нарушение схемы {kind.upper()} (XSD): {message}"))
    return problems


_PARTS = {"timeDate", "timeDuration", "timeCycle", "condition", "script", "loopCardinality", "completionCondition"}


def has_element_id(element: etree._Element, shown_only: bool = False) -> bool:
    # spiffworkflow:* "id" attributes name handlers and parameters, not elements; event definitions
    # and expressions are invisible parts of the element an analyst clicks in the modeler.
    if not isinstance(element.tag, str) or not element.get("id"):
        return False
    qname = etree.QName(element)
    if qname.namespace == SPIFF_NS:
        return False
    local = qname.localname
    return not shown_only or not (local in _PARTS or local.endswith(("EventDefinition", "Expression")))


def owner_id(element: etree._Element) -> str | None:
    """The id of the element, or of its nearest ancestor, that an analyst sees in the modeler."""
    node: etree._Element | None = element
    while node is not None and not has_element_id(node, shown_only=True):
        node = node.getparent()
    return node.get("id") if node is not None else None
