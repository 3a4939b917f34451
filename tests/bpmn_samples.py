"""Tiny BPMN/DMN documents for tests: one element per line, so a test can find the line it expects.

    xml = bpmn(process("p", service_task("check", "check_snils", {"snils": "applicant['snils']"})))
    line = line_of(xml, 'id="check"')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN13_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


@dataclass(frozen=True)
class Node:
    """A flow node: its id (to chain sequence flows) and its XML."""

    id: str
    xml: str


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def task(node_id: str, name: str = "Задача") -> Node:
    return Node(node_id, f'<bpmn:task id="{node_id}" name={quoteattr(name)} />')


def service_task(node_id: str, operator: str, params: Mapping[str, str] | None = None,
                 result: str = "result") -> Node:
    lines = [f'<bpmn:serviceTask id="{node_id}" name="Сервис">', "  <bpmn:extensionElements>",
             f'    <spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="{result}">',
             "      <spiffworkflow:parameters>"]
    for param_id, value in (params or {}).items():
        lines.append(f'        <spiffworkflow:parameter id="{param_id}" type="str" value={quoteattr(value)} />')
    lines += ["      </spiffworkflow:parameters>", "    </spiffworkflow:serviceTaskOperator>",
              "  </bpmn:extensionElements>", "</bpmn:serviceTask>"]
    return Node(node_id, "\n".join(lines))


def user_task(node_id: str, form: str | None = None, ui: str | None = None) -> Node:
    props = {"formJsonSchemaFilename": form, "formUiSchemaFilename": ui}
    lines = [f'<bpmn:userTask id="{node_id}" name="Рассмотрение">']
    if form or ui:
        lines += ["  <bpmn:extensionElements>", "    <spiffworkflow:properties>"]
        lines += [f'      <spiffworkflow:property name="{key}" value={quoteattr(value)} />'
                  for key, value in props.items() if value]
        lines += ["    </spiffworkflow:properties>", "  </bpmn:extensionElements>"]
    lines.append("</bpmn:userTask>")
    return Node(node_id, "\n".join(lines))


def script_task(node_id: str, script: str) -> Node:
    return Node(node_id, f'<bpmn:scriptTask id="{node_id}" name="Скрипт">\n'
                         f"  <bpmn:script>{_text(script)}</bpmn:script>\n</bpmn:scriptTask>")


def timer_event(node_id: str, expression: str, kind: str = "timeDuration") -> Node:
    return Node(node_id, "\n".join([
        f'<bpmn:intermediateCatchEvent id="{node_id}" name="Ожидание">',
        f'  <bpmn:timerEventDefinition id="{node_id}_def">',
        f'    <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{_text(expression)}</bpmn:{kind}>',
        "  </bpmn:timerEventDefinition>",
        "</bpmn:intermediateCatchEvent>",
    ]))


def call_activity(node_id: str, called: str) -> Node:
    return Node(node_id, f'<bpmn:callActivity id="{node_id}" name="Вызов" calledElement="{called}" />')


def business_rule_task(node_id: str, decision: str) -> Node:
    return Node(node_id, "\n".join([
        f'<bpmn:businessRuleTask id="{node_id}" name="Решение">',
        "  <bpmn:extensionElements>",
        f"    <spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>",
        "  </bpmn:extensionElements>",
        "</bpmn:businessRuleTask>",
    ]))


def process(key: str, *nodes: Node, name: str | None = None, executable: bool = True) -> str:
    """start -> nodes... -> end, chained by sequence flows named flow_1, flow_2, ..."""
    chain = [Node(f"{key}_start", f'<bpmn:startEvent id="{key}_start" />'), *nodes,
             Node(f"{key}_end", f'<bpmn:endEvent id="{key}_end" />')]
    flows = [f'<bpmn:sequenceFlow id="{key}_flow_{index}" sourceRef="{source.id}" targetRef="{target.id}" />'
             for index, (source, target) in enumerate(zip(chain, chain[1:], strict=False), start=1)]
    return _process_xml(key, name, executable, [node.xml for node in chain] + flows)


def gateway_process(key: str, condition: str) -> str:
    """start -> exclusive gateway -> (condition) yes_task | (default) no_task -> end."""
    body = [
        f'<bpmn:startEvent id="{key}_start" />',
        f'<bpmn:exclusiveGateway id="{key}_gw" default="{key}_no" />',
        f'<bpmn:task id="{key}_yes_task" />',
        f'<bpmn:task id="{key}_no_task" />',
        f'<bpmn:endEvent id="{key}_end_yes" />',
        f'<bpmn:endEvent id="{key}_end_no" />',
        f'<bpmn:sequenceFlow id="{key}_f1" sourceRef="{key}_start" targetRef="{key}_gw" />',
        f'<bpmn:sequenceFlow id="{key}_yes" sourceRef="{key}_gw" targetRef="{key}_yes_task">',
        f'  <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{_text(condition)}</bpmn:conditionExpression>',
        "</bpmn:sequenceFlow>",
        f'<bpmn:sequenceFlow id="{key}_no" sourceRef="{key}_gw" targetRef="{key}_no_task" />',
        f'<bpmn:sequenceFlow id="{key}_f2" sourceRef="{key}_yes_task" targetRef="{key}_end_yes" />',
        f'<bpmn:sequenceFlow id="{key}_f3" sourceRef="{key}_no_task" targetRef="{key}_end_no" />',
    ]
    return _process_xml(key, None, True, body)


def _process_xml(key: str, name: str | None, executable: bool, body: Sequence[str]) -> str:
    flag = "true" if executable else "false"
    # No re-indenting: script text is Python, and its leading spaces are significant.
    inner = "\n".join(body)
    return f'  <bpmn:process id="{key}" name={quoteattr(name or key)} isExecutable="{flag}">\n{inner}\n  </bpmn:process>'


def bpmn(*processes: str) -> str:
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<bpmn:definitions xmlns:bpmn="{BPMN_NS}"',
        '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
        f'    xmlns:spiffworkflow="{SPIFF_NS}"',
        '    id="definitions" targetNamespace="http://medflow.test/bpmn">',
        *processes,
        "</bpmn:definitions>",
        "",
    ])


def dmn(decision_id: str = "fees") -> str:
    """A one-rule decision table: kind == "new" -> fee 500."""
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<definitions xmlns="{DMN13_NS}" id="defs_{decision_id}" name="{decision_id}" namespace="http://medflow.test/dmn">',
        f'  <decision id="{decision_id}" name="Пошлина">',
        f'    <decisionTable id="{decision_id}_table" hitPolicy="UNIQUE">',
        '      <input id="in_kind" label="kind">',
        '        <inputExpression id="in_kind_expr" typeRef="string"><text>kind</text></inputExpression>',
        "      </input>",
        '      <output id="out_fee" name="fee" typeRef="number" />',
        '      <rule id="rule_1">',
        '        <inputEntry id="rule_1_in"><text>"new"</text></inputEntry>',
        '        <outputEntry id="rule_1_out"><text>500</text></outputEntry>',
        "      </rule>",
        "    </decisionTable>",
        "  </decision>",
        "</definitions>",
        "",
    ])


def line_of(xml: str, marker: str, occurrence: int = 1) -> int:
    """1-based line of the n-th occurrence of marker."""
    position = -1
    for _ in range(occurrence):
        position = xml.index(marker, position + 1)
    return xml.count("\n", 0, position) + 1


def encode(**files: str) -> dict[str, bytes]:
    """encode(medbook="...") -> {"medbook.bpmn": b"..."}; use a dict for names with dots."""
    return {f"{name}.bpmn": text.encode() for name, text in files.items()}
