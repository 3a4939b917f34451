"""The analyst's modeler: processes with versions and running counts, bpmn-js Modeler with lint
and deploy, download/upload of .bpmn, the MIWG reference models, and the forms editor.

The editor's JavaScript posts JSON here (with the CSRF token in the ``X-CSRFToken`` header).
Lint and deploy run on the whole bundle: the edited file replaces its namesake among the files of
the newest deployed version, so called processes and decision tables come along.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for

from engine.errors import NotFound, ValidationFailed
from engine.handler_registry import all_handlers
from engine.parsing import DefinitionError
from webui import definition_files
from webui.auth import account, roles_required
from webui.display import medflow

modeler = Blueprint("modeler", __name__)
_FILE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}\.(bpmn|dmn)")
GROUPS = ["applicants", "medbook_operators", "supervisors", "frmr_operators", "mfc_operators", "employers",
          "accreditation_commission", "renewal_operators"]


def reference_dir() -> Path:
    configured = medflow().settings.get("web.reference_models")
    root = medflow().settings.root
    return Path(configured) if configured else root.parent / "shared" / "conformance" / "miwg-reference"


def reference_files() -> list[str]:
    folder = reference_dir()
    return sorted(p.name for p in folder.glob("*.bpmn")) if folder.is_dir() else []


@modeler.get("/")
@roles_required("analyst")
def index():  # type: ignore[no-untyped-def]
    definitions = medflow().queries.definitions()
    running = medflow().queries.running_counts()
    processes: dict[str, dict[str, Any]] = {}
    for d in definitions:
        item = processes.setdefault(d["process_key"], {"key": d["process_key"], "name": d["name"], "versions": []})
        item["versions"].append({**d, "running": running.get(d["id"], 0)})
        item["name"] = d["name"]
    for item in processes.values():
        item["versions"].sort(key=lambda v: -v["version"])
        item["running"] = sum(v["running"] for v in item["versions"])
    return render_template("modeler/index.html", processes=sorted(processes.values(), key=lambda p: p["key"]),
                           references=reference_files())


@modeler.get("/processes/<key>")
@roles_required("analyst")
def edit(key: str):  # type: ignore[no-untyped-def]
    found = definition_files.definition(key)
    return render_template("modeler/editor.html", title=found["name"], process_key=key, version=found["version"],
                           source_url=url_for("modeler.files", key=key), reference=None)


@modeler.get("/processes/<key>/files.json")
@roles_required("analyst")
def files(key: str):  # type: ignore[no-untyped-def]
    found = definition_files.definition(key)
    bpmn = [{"name": n, "xml": x} for n, x in found["files"].items() if n.endswith(".bpmn")]
    bpmn.sort(key=lambda f: f["name"] != found["main_file"])
    return jsonify({"process_key": key, "version": found["version"], "files": bpmn, **_palette()})


@modeler.get("/processes/<key>/download")
@roles_required("analyst")
def download(key: str):  # type: ignore[no-untyped-def]
    found = definition_files.definition(key, int(request.args["version"]) if request.args.get("version", "").isdigit()
                                        else None)
    name = found["main_file"]
    if name is None:
        abort(404)
    return Response(found["files"][name], mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _palette() -> dict[str, Any]:
    """What the properties panel offers: registered handlers, form files, candidate groups."""
    forms_dir = medflow().settings.path("paths.forms", "forms")
    forms = sorted(p.name for p in forms_dir.glob("*.json")) if forms_dir.is_dir() else []
    handlers = [{"name": h.name, "doc": (h.description or "").strip().split("\n")[0],
                 "params": sorted((h.params_schema or {}).get("properties") or {}),
                 "required": sorted((h.params_schema or {}).get("required") or [])} for h in all_handlers()]
    return {"handlers": handlers, "forms": forms, "groups": GROUPS}


@modeler.get("/reference/<name>")
@roles_required("analyst")
def reference(name: str):  # type: ignore[no-untyped-def]
    if name not in reference_files():
        abort(404)
    return render_template("modeler/editor.html", title=f"Эталонная модель MIWG {name}", process_key="",
                           version=None, source_url=url_for("modeler.reference_json", name=name), reference=name)


@modeler.get("/reference/<name>/file.json")
@roles_required("analyst")
def reference_json(name: str):  # type: ignore[no-untyped-def]
    if name not in reference_files():
        abort(404)
    raw = (reference_dir() / name).read_bytes()
    return jsonify({"process_key": "", "version": None, "files": [{"name": name, "xml": raw.decode("utf-8", "replace")}],
                    **_palette()})


def _bundle_with(key: str, name: str, xml: str) -> dict[str, bytes]:
    if not _FILE_NAME.fullmatch(name):
        raise ValidationFailed("Имя файла: латиница, цифры, «_», «-», расширение .bpmn или .dmn",
                               errors=[{"field": "name", "message": "неверное имя файла", "code": "format"}])
    files: dict[str, bytes] = {}
    if key:
        try:
            files = {n: x.encode("utf-8") for n, x in definition_files.definition(key)["files"].items()}
        except NotFound:
            files = {}
    files[name] = xml.encode("utf-8")
    return files


def _edited() -> tuple[str, str, str]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("xml"), str) or not isinstance(body.get("name"), str):
        raise ValidationFailed("Ожидается JSON с name и xml", errors=[{"field": "xml", "message": "нет диаграммы",
                                                                       "code": "required"}])
    return str(body.get("process_key") or ""), body["name"], body["xml"]


@modeler.post("/lint")
@roles_required("analyst")
def lint():  # type: ignore[no-untyped-def]
    key, name, xml = _edited()
    problems = medflow().definitions.lint(_bundle_with(key, name, xml))
    return jsonify({"problems": [p.to_dict() for p in problems]})


@modeler.post("/deploy")
@roles_required("analyst")
def deploy():  # type: ignore[no-untyped-def]
    key, name, xml = _edited()
    who = account()
    assert who is not None
    try:
        results = medflow().definitions.deploy(_bundle_with(key, name, xml), actor=who.username)
    except DefinitionError as exc:
        return jsonify({"problems": [p.to_dict() for p in exc.problems]}), 422
    return jsonify({"deployed": [r.to_dict() for r in results]})


@modeler.post("/upload")
@roles_required("analyst")
def upload():  # type: ignore[no-untyped-def]
    """Deploy an uploaded .bpmn/.dmn (with the bundle of the process it belongs to)."""
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("Выберите файл .bpmn или .dmn.", "error")
        return redirect(url_for("modeler.index"))
    name = file.filename.replace("\\", "/").rsplit("/", 1)[-1]
    key = request.form.get("process_key", "")
    try:
        results = medflow().definitions.deploy(
            _bundle_with(key, name, file.read().decode("utf-8", "replace")), actor=account().username)  # type: ignore[union-attr]
    except DefinitionError as exc:
        for problem in exc.problems[:20]:
            flash(str(problem), "error")
        return redirect(url_for("modeler.index"))
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return redirect(url_for("modeler.index"))
    created = [f"{r.process_key} v{r.version}" for r in results if r.created]
    flash("Развёрнуто: " + ", ".join(created) if created else "Изменений нет: новые версии не созданы.", "success")
    return redirect(url_for("modeler.index"))
from webui import modeler_scenarios as _scenarios  # noqa: E402,F401  (registers its routes on this blueprint)
