"""The applicant portal: catalogue → generated form → application number; «Мои заявления».

An application is created (as a draft, with its number) when the applicant starts filling it in;
the diagram's first user task (group ``applicants``) is the form, completed by the applicant.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from engine.errors import EngineError, MessageNotMatched, ValidationFailed
from webui import applications as apps
from webui import documents, task_forms
from webui.auth import account, roles_required
from webui.catalogue import BY_KEY, SERVICES
from webui.display import medflow
from webui.form_model import changed_sections

portal = Blueprint("portal", __name__)


def _deployed() -> set[str]:
    return {d["process_key"] for d in medflow().queries.definitions()}


@portal.get("/")
def index():  # type: ignore[no-untyped-def]
    deployed = _deployed()
    services = [s for s in SERVICES if s.key in deployed]
    return render_template("portal/catalogue.html", services=services)


@portal.get("/services/<key>")
def service(key: str):  # type: ignore[no-untyped-def]
    item = BY_KEY.get(key)
    if item is None or key not in _deployed():
        abort(404)
    return render_template("portal/service.html", service=item, limits_text=documents.limits_text())


@portal.post("/services/<key>/start")
@roles_required("applicant")
def start(key: str):  # type: ignore[no-untyped-def]
    item = BY_KEY.get(key)
    if item is None or key not in _deployed():
        abort(404)
    who = account()
    assert who is not None
    # A second click continues the unfinished draft instead of piling up numbers.
    for existing in medflow().queries.instances(process_key=key, started_by=who.username, status="running", limit=50):
        if existing.get("portal_status") == "Черновик заявления":
            instance = medflow().queries.instance(existing["business_key"], with_data=False)
            if apps.applicant_task(instance) is not None:
                return redirect(url_for("portal.fill", key=existing["business_key"]))
    data: dict[str, Any] = {}
    for name, label, _help in item.start_fields:
        value = request.form.get(name, "").strip()
        if not value:
            flash(f"Укажите: {label}", "error")
            return redirect(url_for("portal.service", key=key))
        data[name] = value[:100]
    started = medflow().runtime.start(key, data, actor=who.username)
    return redirect(url_for("portal.fill", key=started["business_key"]))


@portal.route("/applications/<key>/form", methods=["GET", "POST"])
@roles_required("applicant")
def fill(key: str):  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    instance = apps.own_instance(key, who)
    open_task = apps.applicant_task(instance)
    if open_task is None:
        flash("Заявление уже отправлено.", "info")
        return redirect(url_for("portal.application", key=key))
    task = medflow().queries.task(open_task["id"])
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    if request.method == "POST":
        schema = task.get("schema") or {"type": "object"}
        values, errors = task_forms.read_post(schema, task.get("ui_schema"), who.username, key)
        errors = errors + [e for e in task_forms.check(schema, values)
                           if e["field"] not in {u["field"] for u in errors}]
        if not errors:
            try:
                if task.get("assignee") != who.username:
                    medflow().runtime.claim(task["id"], who.username)
                medflow().runtime.complete(task["id"], values, user=who.username)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                flash(f"Заявление № {key} отправлено. Статус можно смотреть в «Моих заявлениях».", "success")
                return redirect(url_for("portal.application", key=key, sent=1))
    status = 422 if errors else 200
    service_item = BY_KEY.get(instance["process_key"])
    return render_template("portal/fill.html", instance=instance, task=task, service=service_item,
                           **task_forms.form_context(task, values, errors)), status


@portal.get("/applications")
@roles_required("applicant")
def my_applications():  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    rows = medflow().queries.instances(started_by=who.username, limit=200)
    return render_template("portal/applications.html", rows=rows, services=BY_KEY)


@portal.get("/applications/<key>")
@roles_required("applicant")
def application(key: str):  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    instance = apps.own_instance(key, who)
    submitted = apps.submit_task(key)
    schema = (submitted or {}).get("schema")
    values = apps.submitted_values(instance, schema)
    fields, _ = task_forms.fields_for(schema, (submitted or {}).get("ui_schema"), values)
    return render_template(
        "portal/application.html", instance=instance, service=BY_KEY.get(instance["process_key"]),
        timeline=apps.timeline(medflow().queries.history(key, actions=apps.TIMELINE_ACTIONS)), deadline=apps.deadline(instance),
        refusal=apps.refusal(instance), results=apps.results(instance), actions=apps.portal_actions(instance),
        draft=apps.applicant_task(instance), fields=fields,
    )


@portal.route("/applications/<key>/resubmit", methods=["GET", "POST"])
@roles_required("applicant")
def resubmit(key: str):  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    instance = apps.own_instance(key, who)
    if "resubmission" not in (instance.get("waiting_for_messages") or []):
        flash("Исправления по этому заявлению сейчас не ожидаются.", "info")
        return redirect(url_for("portal.application", key=key))
    submitted = apps.submit_task(key)
    if submitted is None:
        abort(404)
    schema = submitted.get("schema") or {"type": "object"}
    before = apps.submitted_values(instance, schema)
    values, errors = before, []
    if request.method == "POST":
        values, errors = task_forms.read_post(schema, submitted.get("ui_schema"), who.username, key)
        errors = errors + [e for e in task_forms.check(schema, values) if e["field"] not in {u["field"] for u in errors}]
        corrections = changed_sections(before, values)
        if not errors and not corrections:
            errors = [{"field": "", "message": "Вы ничего не изменили: исправьте то, что указано в уведомлении"}]
        if not errors:
            try:
                medflow().runtime.send_message("resubmission", key, {"corrections": corrections}, actor=who.username)
            except MessageNotMatched as exc:
                flash(exc.message, "error")
            else:
                flash("Исправления отправлены. Заявление снова на проверке.", "success")
                return redirect(url_for("portal.application", key=key))
    context = task_forms.form_context(submitted, values, errors)
    context["submit_text"] = "Отправить исправления"
    return render_template("portal/resubmit.html", instance=instance, refusal=apps.refusal(instance),
                           **context), 422 if errors else 200


@portal.post("/applications/<key>/message")
@roles_required("applicant")
def send_message(key: str):  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    instance = apps.own_instance(key, who)
    name = request.form.get("message", "")
    if name not in [a["message"] for a in apps.portal_actions(instance)] or name == "resubmission":
        abort(400)
    payload: dict[str, Any] = {}
    if name == "application_message":
        text = request.form.get("text", "").strip()[:2000]
        if not text:
            flash("Напишите текст сообщения.", "error")
            return redirect(url_for("portal.application", key=key))
        payload = {"message_from": who.username, "message_text": text}
    try:
        medflow().runtime.send_message(name, key, payload, actor=who.username)
        flash("Отправлено.", "success")
    except EngineError as exc:
        flash(exc.message, "error")
    return redirect(url_for("portal.application", key=key))


@portal.get("/applications/<key>/result/<number>.pdf")
@roles_required("applicant")
def result(key: str, number: str):  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    instance = apps.own_instance(key, who)
    found = [r for r in apps.results(instance) if r["number"] == number]
    meta = documents.describe(found[0]["document_id"]) if found else None
    if meta is None:
        abort(404)
    return documents.send(meta, inline=False)


@portal.get("/documents/<document_id>")
def document(document_id: str):  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        abort(404)
    who = account()
    assert who is not None
    meta = documents.describe(document_id)
    if meta is None:
        abort(404)
    if not documents.may_read(who, meta):
        abort(404)
    return documents.send(meta, inline=request.args.get("download") != "1")


@portal.get("/verify/<number>")
def verify(number: str):  # type: ignore[no-untyped-def]
    from handlers.certificates import verify_certificate

    found = verify_certificate(medflow().db, number[:40])
    return render_template("portal/verify.html", number=number, found=found), 200 if found else 404


