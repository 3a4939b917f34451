"""The forms editor of the modeler: the JSON Schema and UI schema files of ``forms/``, with a live
preview drawn by the same macros as the portal and the schema checks of the linter.

Saving writes the file in ``paths.forms``; a form reaches running processes with the next
deployment of a process that references it (the bundle keeps the form it was deployed with).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for

from engine.forms import check_schema
from webui import task_forms
from webui.auth import roles_required
from webui.display import medflow
from webui.modeler import modeler

_NAME = re.compile(r"[a-z0-9_]{1,80}\.(schema|uischema)\.json")


def forms_dir() -> Path:
    return medflow().settings.path("paths.forms", "forms")


def _pair(name: str) -> tuple[str, str]:
    base = name.rsplit(".", 2)[0]
    return f"{base}.schema.json", f"{base}.uischema.json"


def _read(name: str) -> str:
    path = forms_dir() / name
    return path.read_text(encoding="utf-8") if path.is_file() else ""


@modeler.get("/forms")
@roles_required("analyst")
def forms():  # type: ignore[no-untyped-def]
    folder = forms_dir()
    names = sorted(p.name for p in folder.glob("*.schema.json")) if folder.is_dir() else []
    return render_template("modeler/forms.html", names=names)


@modeler.route("/forms/<name>", methods=["GET", "POST"])
@roles_required("analyst")
def form_edit(name: str):  # type: ignore[no-untyped-def]
    if not _NAME.fullmatch(name):
        abort(404)
    schema_name, ui_name = _pair(name)
    schema_text, ui_text = _read(schema_name), _read(ui_name)
    if request.method == "POST":
        schema_text, ui_text = request.form.get("schema", ""), request.form.get("ui_schema", "")
        problems = _problems(schema_text, ui_text)
        if problems:
            for problem in problems:
                flash(problem, "error")
        else:
            forms_dir().mkdir(parents=True, exist_ok=True)
            (forms_dir() / schema_name).write_text(_pretty(schema_text), encoding="utf-8")
            if ui_text.strip():
                (forms_dir() / ui_name).write_text(_pretty(ui_text), encoding="utf-8")
            flash(f"Форма {schema_name} сохранена. Она попадёт в процессы при следующем развёртывании.", "success")
            return redirect(url_for("modeler.form_edit", name=schema_name))
    elif not schema_text:
        schema_text = json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Новая форма",
                                  "type": "object", "properties": {}}, ensure_ascii=False, indent=2)
    return render_template("modeler/form_edit.html", name=schema_name, ui_name=ui_name, schema_text=schema_text,
                           ui_text=ui_text)


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"


def _problems(schema_text: str, ui_text: str) -> list[str]:
    problems = []
    try:
        schema = json.loads(schema_text)
    except json.JSONDecodeError as exc:
        return [f"Схема: не JSON — {exc.msg}, строка {exc.lineno}, позиция {exc.colno}"]
    problems += [f"Схема: {p}" for p in check_schema(schema)]
    if ui_text.strip():
        try:
            ui = json.loads(ui_text)
            if not isinstance(ui, dict):
                problems.append("UI-схема должна быть объектом JSON")
        except json.JSONDecodeError as exc:
            problems.append(f"UI-схема: не JSON — {exc.msg}, строка {exc.lineno}, позиция {exc.colno}")
    return problems


@modeler.post("/forms/preview")
@roles_required("analyst")
def form_preview():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True) or {}
    schema_text, ui_text = str(body.get("schema", "")), str(body.get("ui_schema", ""))
    problems = _problems(schema_text, ui_text)
    html = ""
    errors: list[dict[str, Any]] = []
    if not any(p.startswith("Схема: не JSON") for p in problems):
        schema = json.loads(schema_text)
        ui = json.loads(ui_text) if ui_text.strip() and not any(p.startswith("UI-схема") for p in problems) else {}
        values = body.get("values") if isinstance(body.get("values"), dict) else None
        if values is not None and isinstance(schema, dict):
            errors = task_forms.check(schema, values)
        if isinstance(schema, dict) and isinstance(ui, dict):
            context = task_forms.form_context({"schema": schema, "ui_schema": ui}, values or {}, errors)
            html = render_template("modeler/_preview.html", **context)
    return jsonify({"problems": problems, "html": html, "errors": errors})


@modeler.get("/forms/new")
@roles_required("analyst")
def form_new():  # type: ignore[no-untyped-def]
    name = request.args.get("name", "").strip()
    if not name.endswith(".json"):
        name += ".schema.json"
    if not _NAME.fullmatch(name):
        flash("Имя формы: латиница, цифры и «_», окончание .schema.json", "error")
        return redirect(url_for("modeler.forms"))
    return redirect(url_for("modeler.form_edit", name=name))
