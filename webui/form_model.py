"""A form as a tree of fields built from the analysts' JSON Schema + UI schema, and the way back
from an HTML post to the JSON the engine validates.

The tree is what the Jinja macros in ``templates/_form.html`` draw; the conventions of the UI
schema are ``ui:order``, ``ui:widget`` (radio, select, checkbox, checkboxes, textarea, file,
updown), ``ui:help``, ``ui:placeholder``, ``ui:options`` (rows, inputType, accept) and
``ui:showWhen`` ({"dotted.path": [values]}: shown when any listed path has one of its values).

>>> fields = build_fields(schema, ui_schema, values={"applicant": {"snils": "1"}}, errors=[])   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FILE_ID_SUFFIX = "__id"


@dataclass
class Field:
    path: str
    name: str
    title: str
    kind: str  # object | text | textarea | select | radio | checkbox | checkboxes | file | number
    required: bool = False
    help: str | None = None
    placeholder: str | None = None
    input_type: str = "text"
    options: list[tuple[Any, str]] = field(default_factory=list)
    format: str | None = None
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    rows: int = 3
    accept: str | None = None
    show_when: dict[str, list[Any]] | None = None
    description: str | None = None
    children: list[Field] = field(default_factory=list)
    value: Any = None
    errors: list[str] = field(default_factory=list)
    document: dict[str, Any] | None = None  # the uploaded file behind a file field's id

    @property
    def html_id(self) -> str:
        return "f-" + self.path.replace(".", "-")


def _ordered(properties: dict[str, Any], ui: dict[str, Any]) -> list[str]:
    order = [name for name in ui.get("ui:order", []) if name in properties and name != "*"]
    return order + [name for name in properties if name not in order]


def _kind(schema: dict[str, Any], ui: dict[str, Any]) -> str:
    widget = ui.get("ui:widget")
    kind = schema.get("type")
    if kind == "object":
        return "object"
    if widget == "file":
        return "file"
    if kind == "array":
        return "checkboxes"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if "enum" in schema:
        return "radio" if widget == "radio" else "select"
    return "textarea" if widget == "textarea" else "text"


def _options(schema: dict[str, Any]) -> list[tuple[Any, str]]:
    source = schema.get("items", {}) if schema.get("type") == "array" else schema
    values = source.get("enum") or []
    labels = source.get("x-enum-labels") or []
    return [(v, str(labels[i]) if i < len(labels) else str(v)) for i, v in enumerate(values)]


def _dig(data: Any, path: str) -> Any:
    node = data
    for part in path.split(".") if path else []:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def build_fields(schema: dict[str, Any], ui_schema: dict[str, Any] | None, values: dict[str, Any] | None,
                 errors: list[dict[str, Any]] | None, documents: Callable[[str], dict[str, Any] | None] | None = None,
                 prefix: str = "") -> list[Field]:
    """The fields of an object schema, with values and error messages attached."""
    by_field: dict[str, list[str]] = {}
    for error in errors or []:
        by_field.setdefault(str(error.get("field") or ""), []).append(str(error.get("message")))
    return _children(schema, ui_schema or {}, values or {}, by_field, documents, prefix)


def _children(schema: dict[str, Any], ui: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]],
              documents: Callable[[str], dict[str, Any] | None] | None, prefix: str) -> list[Field]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    result = []
    for name in _ordered(properties, ui):
        sub = properties[name] if isinstance(properties[name], dict) else {}
        sub_ui = ui.get(name) if isinstance(ui.get(name), dict) else {}
        path = f"{prefix}.{name}" if prefix else name
        if sub_ui.get("ui:widget") == "hidden":
            continue
        kind = _kind(sub, sub_ui)
        options = sub_ui.get("ui:options") or {}
        item = Field(
            path=path, name=name, title=str(sub.get("title") or name), kind=kind, required=name in required,
            help=sub_ui.get("ui:help"), placeholder=sub_ui.get("ui:placeholder"),
            input_type=str(options.get("inputType") or "text"), options=_options(sub),
            format=sub.get("format"), pattern=sub.get("pattern"), min_length=sub.get("minLength"),
            max_length=sub.get("maxLength"), rows=int(options.get("rows") or 3), accept=options.get("accept"),
            show_when=sub_ui.get("ui:showWhen"), description=sub.get("description"),
            value=_dig(values, path), errors=errors.get(path, []),
        )
        if kind == "object":
            item.children = _children(sub, sub_ui, values, errors, documents, path)
        elif kind == "file" and isinstance(item.value, str) and documents is not None:
            item.document = documents(item.value)
        elif item.value is None and "default" in sub and kind in ("radio", "select", "checkbox"):
            item.value = sub["default"]
        result.append(item)
    return result


def known_paths(fields: list[Field]) -> set[str]:
    paths: set[str] = set()
    for item in fields:
        paths.add(item.path)
        paths |= known_paths(item.children)
    return paths


def stray_errors(fields: list[Field], errors: list[dict[str, Any]]) -> list[str]:
    """Messages for no drawn field (the whole form, or a field the form does not show)."""
    paths = known_paths(fields)
    return [f"{e['message']}" if not e.get("field") or e["field"] in ("", None) else f"{e['field']}: {e['message']}"
            for e in errors if str(e.get("field") or "") not in paths]


# --- from an HTML post back to JSON -----------------------------------------------------------


def _number(text: str, integer: bool) -> Any:
    try:
        return int(text) if integer else float(text.replace(",", "."))
    except ValueError:
        return text  # the validator reports "должно быть числом" at the field


def parse_post(schema: dict[str, Any], form: Any, upload: Callable[[str], str | None], prefix: str = "") -> dict[str, Any]:
    """The object the post describes; empty optional fields are left out, so «не заполнено» is
    what the validator sees. ``upload(path)`` stores a file sent for a file field and gives its id."""
    result: dict[str, Any] = {}
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        path = f"{prefix}.{name}" if prefix else name
        kind = sub.get("type")
        if kind == "object":
            child = parse_post(sub, form, upload, path)
            if child:
                result[name] = child
        elif kind == "array":
            chosen = [v for v in form.getlist(path) if v != ""]
            if chosen or path in form:
                result[name] = chosen
        elif kind == "boolean":
            result[name] = form.get(path) in ("on", "true", "1", "yes")
        elif _looks_like_file(sub):
            document_id = upload(path) or (form.get(path + FILE_ID_SUFFIX) or "").strip()
            if document_id:
                result[name] = document_id
        else:
            text = (form.get(path) or "").strip()
            if text == "":
                continue
            result[name] = _number(text, kind == "integer") if kind in ("integer", "number") else text
    return result


def _looks_like_file(schema: dict[str, Any]) -> bool:
    # File fields hold a document id: the store's 32 hex characters.
    return schema.get("type") == "string" and schema.get("pattern") == "^[0-9a-f]{32}$"


def file_paths(schema: dict[str, Any], ui: dict[str, Any] | None, prefix: str = "") -> list[str]:
    paths = []
    ui = ui or {}
    for name, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, dict):
            continue
        path = f"{prefix}.{name}" if prefix else name
        sub_ui = ui.get(name) if isinstance(ui.get(name), dict) else {}
        if sub.get("type") == "object":
            paths += file_paths(sub, sub_ui, path)
        elif sub_ui.get("ui:widget") == "file" or _looks_like_file(sub):
            paths.append(path)
    return paths


def prune_hidden(data: dict[str, Any], ui: dict[str, Any] | None, root: dict[str, Any] | None = None) -> dict[str, Any]:
    """Drop what ``ui:showWhen`` hides, so a section the person could not see never fails validation."""
    ui = ui or {}
    root = data if root is None else root
    result = {}
    for name, value in data.items():
        sub_ui = ui.get(name) if isinstance(ui.get(name), dict) else {}
        if not shown(sub_ui.get("ui:showWhen"), root):
            continue
        result[name] = prune_hidden(value, sub_ui, root) if isinstance(value, dict) else value
    return result


def shown(condition: dict[str, list[Any]] | None, data: dict[str, Any]) -> bool:
    if not condition:
        return True
    return any(_dig(data, path) in list(allowed) for path, allowed in condition.items())


def changed_sections(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a resubmission corrects: per object section only the changed keys, scalars as they are.

    The diagrams merge ``corrections[section]`` into the section (210-ФЗ: what was changed may be
    checked again), so unchanged keys are not sent."""
    corrections: dict[str, Any] = {}
    for name, value in after.items():
        old = before.get(name)
        if isinstance(value, dict) and isinstance(old, dict):
            diff = {k: v for k, v in value.items() if old.get(k) != v}
            if diff:
                corrections[name] = diff
        elif value != old:
            corrections[name] = value
    return corrections
