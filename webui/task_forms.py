"""A user task's form in the browser: draw it from the task's schemas, read a post back, validate.

Validation is the engine's (:func:`engine.forms.validate_form`, the same as the API's and the
``complete`` command's); the browser's checks in ``static/js/forms.js`` only come first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, request

from engine.forms import client_format_rules, validate_form
from webui import documents
from webui.form_model import Field, build_fields, file_paths, parse_post, prune_hidden, stray_errors


def fields_for(schema: dict[str, Any] | None, ui_schema: dict[str, Any] | None, values: dict[str, Any] | None,
               errors: list[dict[str, Any]] | None = None) -> tuple[list[Field], list[str]]:
    """The drawn fields and the messages that belong to no drawn field."""
    if not schema:
        return [], []
    fields = build_fields(schema, ui_schema, values, errors, documents=documents.describe)
    return fields, stray_errors(fields, errors or [])


def read_post(schema: dict[str, Any], ui_schema: dict[str, Any] | None, user: str,
              business_key: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The posted form as JSON (files stored) and the problems of the uploaded files."""
    upload_errors: list[dict[str, Any]] = []
    wanted = set(file_paths(schema, ui_schema))

    def upload(path: str) -> str | None:
        file = request.files.get(path)
        if path not in wanted or file is None or not file.filename:
            return None
        stored = documents.save_upload(file, user, business_key)
        if stored.problems:
            upload_errors.append({"field": path, "message": f"{stored.name}: " + "; ".join(stored.problems),
                                  "code": "document"})
            return None
        return stored.id

    data = parse_post(schema, request.form, upload)
    return prune_hidden(data, ui_schema), upload_errors


def check(schema: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """Server-side validation with the engine's validator ("today" from the engine's clock)."""
    medflow = current_app.extensions["medflow"]

    def today() -> date:
        from zoneinfo import ZoneInfo

        return medflow.clock.now().astimezone(ZoneInfo(medflow.settings.timezone)).date()

    return [{"field": e.field, "message": e.message, "code": e.code}
            for e in validate_form(schema, data, today=today)]


def format_rules() -> dict[str, Any]:
    return client_format_rules()


def form_context(task: dict[str, Any], values: dict[str, Any] | None, errors: list[dict[str, Any]] | None = None,
                 ui_override: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``_form.html`` needs for one task."""
    ui = ui_override if ui_override is not None else (task.get("ui_schema") or {})
    fields, stray = fields_for(task.get("schema"), ui, values, errors)
    submit = ((ui.get("ui:submitButtonOptions") or {}).get("submitText")) or "Отправить"
    return {"fields": fields, "stray_errors": stray, "errors": errors or [], "format_rules": format_rules(),
            "submit_text": submit, "has_files": bool(file_paths(task.get("schema") or {}, ui)),
            "limits_text": documents.limits_text(), "schema_title": (task.get("schema") or {}).get("title"),
            "schema_description": (task.get("schema") or {}).get("description")}
