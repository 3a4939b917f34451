"""Hostile BPMN documents: entity bombs, external entities, oversize files and mutations of real diagrams.

Each XXE document points at a loopback port this process listens on (:class:`Tripwire`), so a
parser that fetched anything would be caught in the act, not just by its output.
"""

from __future__ import annotations

import socket
from pathlib import Path

from hypothesis import strategies as st

PROJECT = Path(__file__).resolve().parents[2]
REAL_FILES = {p.name: p.read_bytes() for p in sorted((PROJECT / "processes").glob("*.bpmn"))}
REAL_DMN = {p.name: p.read_bytes() for p in sorted((PROJECT / "processes").glob("*.dmn"))}

_HEAD = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
         'targetNamespace="http://medflow.test/hostile">')
_PROCESS = ('<bpmn:process id="hostile" name="{name}" isExecutable="true">'
            '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
            '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>')


def _document(doctype: str, name: str = "x") -> bytes:
    return f'<?xml version="1.0"?>\n{doctype}\n{_HEAD}{_PROCESS.format(name=name)}</bpmn:definitions>'.encode()


class Tripwire:
    """A loopback TCP port that must never be connected to."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])

    def touched(self) -> bool:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    def close(self) -> None:
        self.sock.close()


def entity_attacks(port: int) -> dict[str, bytes]:
    laughs = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ]
    return {
        "billion_laughs": _document(f"<!DOCTYPE bpmn:definitions [{''.join(laughs)}]>", "&lol9;"),
        "quadratic_blowup": _document(f'<!DOCTYPE bpmn:definitions [<!ENTITY a "{"A" * 50_000}">]>', "&a;" * 2000),
        "xxe_file": _document('<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
        "xxe_http": _document(f'<!DOCTYPE bpmn:definitions [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]>', "&x;"),
        "xxe_parameter": _document(
            f'<!DOCTYPE bpmn:definitions [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>'),
        "external_dtd": _document(f'<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:{port}/d.dtd">'),
        "utf7_doctype": ('<?xml version="1.0" encoding="UTF-7"?>\n+ADw-!DOCTYPE x+AD4-' + _HEAD).encode(),
    }


def xinclude_document() -> bytes:
    """Well-formed and DOCTYPE-free: only an XInclude-processing parser would read the file."""
    return (f'<?xml version="1.0"?>\n{_HEAD}<bpmn:process id="hostile_xinclude" isExecutable="true">'
            '<bpmn:documentation><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
            'href="file:///etc/passwd" parse="text"/></bpmn:documentation>'
            '<bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>').encode()


def enormous(size: int) -> bytes:
    """A well-formed diagram of ``size`` bytes (a huge documentation text)."""
    head = f'<?xml version="1.0"?>\n{_HEAD}<bpmn:process id="big" isExecutable="true"><bpmn:documentation>'
    tail = "</bpmn:documentation><bpmn:startEvent id=\"s\"/></bpmn:process></bpmn:definitions>"
    return (head + "я" * ((size - len(head) - len(tail)) // 2) + tail).encode()


def deep(levels: int) -> bytes:
    return b'<?xml version="1.0"?>' + b"<a>" * levels + b"</a>" * levels


# Edits a modeler or a careless hand could make, so most mutants still parse as XML and reach the
# BPMN parser and the linter, where the deeper mistakes are.
_TOKEN_EDITS = [
    ('sourceRef="', 'sourceRef="missing_'), ('targetRef="', 'targetRef="'), ('id="', 'id="1 '),
    ('cancelActivity="true"', 'cancelActivity="maybe"'), ('isExecutable="true"', 'isExecutable="false"'),
    ("<bpmn:script>", "<bpmn:script>)("), ("<bpmn:conditionExpression", "<bpmn:conditionExpression>(<x/"),
    ('"P', "P"), ("working_days(", "working_days(("), ('value="', 'value="__import__(\'os\').'),
    ("messageRef=", "messageRef_="), ("attachedToRef=", "attachedToRef=\"nowhere\" x="),
    ("calledElement=", "calledElement=\"no_such_process\" x="), ("<spiffworkflow:property ", "<spiffworkflow:property name=\"\" "),
    ("schema.json", "../../etc/passwd"), ("</bpmn:process>", ""), ("<bpmn:startEvent", "<bpmn:endEvent"),
]
_JUNK = [b"<", b">", b"&", b'"', b"]]>", b"\x00", b"\xff\xfe", b"&#0;", b"<!--", b"<?x?>", b"\xd0", b"&unknown;"]


@st.composite
def mutated_bundle(draw: st.DrawFn) -> tuple[str, dict[str, bytes]]:
    """The real processes with one diagram damaged by one to four random edits."""
    name = draw(st.sampled_from(sorted(REAL_FILES)))
    data = bytearray(REAL_FILES[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["token", "token", "delete", "duplicate", "insert", "truncate"]))
        at = draw(st.integers(0, len(data) - 1))
        span = draw(st.integers(1, 300))
        if kind == "token":
            old, new = draw(st.sampled_from(_TOKEN_EDITS))
            text = data.decode("utf-8", errors="surrogateescape")
            index = text.find(old, draw(st.integers(0, max(0, len(text) - 1))))
            if index < 0:
                index = text.find(old)
            if index >= 0:
                text = text[:index] + new + text[index + len(old):]
            data = bytearray(text.encode("utf-8", errors="surrogateescape"))
        elif kind == "delete":
            del data[at:at + span]
        elif kind == "duplicate":
            data[at:at] = data[at:at + span]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(_JUNK))
        else:
            del data[at:]
        if not data:
            data = bytearray(b"<")
    return name, {**REAL_FILES, **REAL_DMN, name: bytes(data)}


# Random diagrams built from BPMN's own vocabulary: well-formed XML with odd structure, so the
# examples get past the XML parser into SpiffWorkflow's parser and the linter.
_TAGS = ["process", "startEvent", "endEvent", "task", "userTask", "serviceTask", "scriptTask", "sequenceFlow",
         "exclusiveGateway", "parallelGateway", "eventBasedGateway", "boundaryEvent", "intermediateCatchEvent",
         "receiveTask", "callActivity", "subProcess", "timerEventDefinition", "messageEventDefinition",
         "errorEventDefinition", "conditionExpression", "script", "timeDate", "timeDuration", "timeCycle",
         "incoming", "outgoing", "laneSet", "lane", "flowNodeRef", "message", "error", "multiInstanceLoopCharacteristics"]
_ATTRS = ["id", "name", "sourceRef", "targetRef", "attachedToRef", "calledElement", "messageRef", "errorRef",
          "cancelActivity", "isExecutable", "default", "isSequential", "processRef"]
_VALUES = ["a", "b", "c", "p", "start", "end", "true", "false", "", "a b", "1", "__import__", "Msg", "x" * 300]
_TEXTS = ["", "x = 1", "1/0", "decision == 'fix'", '"P5D"', "P5D", "working_days(3)", "(((", "é", "&amp;"]


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(_TAGS))
    attrs = draw(st.dictionaries(st.sampled_from(_ATTRS), st.sampled_from(_VALUES), max_size=4))
    rendered = "".join(f' {k}="{v}"' for k, v in attrs.items())
    children = [] if depth >= 3 else draw(st.lists(_element(depth + 1), max_size=4))
    text = draw(st.sampled_from(_TEXTS)).replace("&", "&amp;").replace("<", "&lt;")
    return f"<bpmn:{tag}{rendered}>{text}{''.join(children)}</bpmn:{tag}>"


@st.composite
def random_diagram(draw: st.DrawFn) -> bytes:
    body = "".join(draw(st.lists(_element(), min_size=1, max_size=4)))
    return f'<?xml version="1.0"?>\n{_HEAD}{body}</bpmn:definitions>'.encode()
