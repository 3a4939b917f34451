"""REST API `/api/v1`: token authentication, the same role rules as the UI, JSON errors.

Errors: ``{"error": code, "message": Russian text, ...}``; 401 without a valid token, 403 for a
role that may not, 404, 409 conflict (who did it first), 422 with ``errors: [{field, message, code}]``.
The OpenAPI 3.1 document (:mod:`webui.openapi`) describes every route here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from engine.accounts import AccountInfo
from engine.errors import NotAllowed, NotFound, ValidationFailed
from engine.parsing import DefinitionError
from webui import documents
from webui.display import medflow
from webui.masking import mask_personal

api = Blueprint("api", __name__)
PUBLIC = {"api.openapi"}
_ID = re.compile(r"[0-9]{1,18}")


def me() -> AccountInfo:
    return g.api_account


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("Тело запроса должно быть объектом JSON",
                               errors=[{"field": "", "message": "ожидается объект JSON", "code": "type"}])
    return body


def require(*roles: str) -> AccountInfo:
    who = me()
    if not who.can(*roles):
        raise NotAllowed("Недостаточно прав для этого действия", role=who.role)
    return who


@api.before_request
def _authenticate():  # type: ignore[no-untyped-def]
    g.api_account = None
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    info = current_app.extensions["accounts"].account_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if info is None:
        response = jsonify(error="unauthorized", message="Нужен действующий токен: Authorization: Bearer <токен>")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    g.api_account = info
    return None


@api.errorhandler(DefinitionError)
def _definition_error(exc: DefinitionError):  # type: ignore[no-untyped-def]
    return jsonify(error="definition_invalid", message="Диаграммы содержат ошибки",
                   problems=[p.to_dict() for p in exc.problems]), 422


@api.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    from webui.openapi import document

    return jsonify(document())


@api.get("/me")
def who_am_i():  # type: ignore[no-untyped-def]
    return jsonify(me().to_dict())


# --- definitions ----------------------------------------------------------------------------


@api.get("/definitions")
def definitions():  # type: ignore[no-untyped-def]
    return jsonify(medflow().queries.definitions())


def _uploaded_files() -> dict[str, bytes]:
    files = {f.filename.rsplit("/", 1)[-1]: f.read() for f in request.files.getlist("files") if f and f.filename}
    if not files:
        raise ValidationFailed("Приложите файлы .bpmn или .dmn в поле files",
                               errors=[{"field": "files", "message": "нет файлов", "code": "required"}])
    bad = [name for name in files if not name.lower().endswith((".bpmn", ".dmn"))]
    if bad:
        raise ValidationFailed("Допускаются только файлы .bpmn и .dmn",
                               errors=[{"field": "files", "message": f"не BPMN/DMN: {', '.join(bad)}", "code": "type"}])
    return files


@api.post("/definitions")
def deploy():  # type: ignore[no-untyped-def]
    who = require("analyst")
    results = medflow().definitions.deploy(_uploaded_files(), actor=who.username)
    return jsonify([r.to_dict() for r in results]), 201


@api.post("/definitions/lint")
def lint():  # type: ignore[no-untyped-def]
    require("analyst")
    return jsonify({"problems": [p.to_dict() for p in medflow().definitions.lint(_uploaded_files())]})


# --- instances ------------------------------------------------------------------------------


def instance_for(ref: str, who: AccountInfo, with_data: bool = True) -> dict[str, Any]:
    """The instance if ``who`` may read it: owners, staff with a task in it, supervisors."""
    if ref.isdigit() and not _ID.fullmatch(ref):
        # "²" or a 30-digit number: not an id the database can hold (the engine would fail on int()).
        raise NotFound(f"Заявление {ref} не найдено", instance=ref)
    instance = medflow().queries.instance(ref, with_data=with_data)
    if who.can("supervisor"):
        # Supervision reads the case, not the identity numbers (152-ФЗ): the operator working it
        # and the applicant see them in full.
        return {**instance, "data": mask_personal(instance["data"])} if "data" in instance else instance
    if who.role == "applicant":
        if instance.get("started_by") != who.username:
            raise NotFound(f"Заявление {ref} не найдено", instance=ref)
        return instance
    if who.role == "operator":
        tasks = medflow().queries.tasks(groups=list(who.groups), assignee=who.username,
                                        business_key=instance["business_key"], limit=1)
        if tasks:
            return instance
    raise NotAllowed("Нет доступа к этому заявлению")


@api.get("/instances")
def instances():  # type: ignore[no-untyped-def]
    who = me()
    if not who.can("supervisor", "applicant"):
        raise NotAllowed("Список заявлений доступен руководителю и заявителю (свои)")
    started_by = who.username if who.role == "applicant" else request.args.get("started_by") or None
    limit = _int_arg("limit", 50, 1, 500)
    before = _int_arg("before_id", 0, 0, 2**62) or None
    return jsonify(medflow().queries.instances(process_key=request.args.get("process_key") or None,
                                                status=request.args.get("status") or None, started_by=started_by,
                                                limit=limit, before_id=before))


@api.post("/instances")
def start_instance():  # type: ignore[no-untyped-def]
    who = require("applicant", "supervisor")
    body = json_body()
    key = body.get("process_key")
    data = body.get("data", {})
    if not isinstance(key, str) or not key or not isinstance(data, dict):
        raise ValidationFailed("Нужны process_key (строка) и data (объект)", errors=[
            {"field": "process_key" if not isinstance(key, str) or not key else "data", "message": "неверное значение",
             "code": "type"}])
    return jsonify(medflow().runtime.start(key, data, actor=who.username)), 201


@api.get("/instances/<ref>")
def instance(ref: str):  # type: ignore[no-untyped-def]
    return jsonify(instance_for(ref, me()))


@api.get("/instances/<ref>/history")
def history(ref: str):  # type: ignore[no-untyped-def]
    who = me()
    instance_for(ref, who, with_data=False)
    if who.role == "applicant":
        raise NotAllowed("Журнал событий доступен сотрудникам")
    # Paged from the start (oldest first) by the last event's id; a loop instance has thousands.
    limit = _int_arg("limit", 500, 1, 1000)
    after = _int_arg("after_id", 0, 0, 2**62) or None
    return jsonify(medflow().queries.history(ref, limit=limit, after_id=after))


@api.post("/instances/<ref>/cancel")
def cancel(ref: str):  # type: ignore[no-untyped-def]
    who = me()
    found = instance_for(ref, who, with_data=False)
    if not who.can("supervisor", "applicant"):
        raise NotAllowed("Отменить заявление может заявитель или руководитель")
    body = request.get_json(silent=True) if request.data else {}
    reason = str((body or {}).get("reason") or "")[:500] if isinstance(body, dict) else ""
    medflow().runtime.cancel(found["id"], who.username, reason)
    return jsonify(medflow().queries.instance(found["id"], with_data=False))


# --- messages -------------------------------------------------------------------------------


@api.post("/messages")
def message():  # type: ignore[no-untyped-def]
    who = me()
    body = json_body()
    name, key, data = body.get("name"), body.get("business_key"), body.get("data") or {}
    wrong = [f for f, ok in (("name", isinstance(name, str) and name), ("business_key", isinstance(key, str) and key),
                             ("data", isinstance(data, dict))) if not ok]
    if wrong:
        raise ValidationFailed("Нужны name, business_key (строки) и data (объект)",
                               errors=[{"field": f, "message": "неверное значение", "code": "type"} for f in wrong])
    if who.role == "applicant":
        instance_for(key, who, with_data=False)
    elif not who.can("operator", "supervisor"):
        raise NotAllowed("Сообщения отправляют заявители и сотрудники")
    return jsonify(medflow().runtime.send_message(name, key, data, actor=who.username))


# --- documents ------------------------------------------------------------------------------


@api.post("/documents")
def upload():  # type: ignore[no-untyped-def]
    who = me()
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ValidationFailed("Приложите файл в поле file", errors=[{"field": "file", "message": "нет файла", "code": "required"}])
    stored = documents.save_upload(file, who.username, request.form.get("business_key") or None)
    return jsonify(_document_json(stored.meta)), 201


def _document_json(meta: dict[str, Any] | None) -> dict[str, Any]:
    assert meta is not None
    return {"id": meta["id"], "name": meta["name"], "size": meta["size"], "type": meta["type"],
            "status": meta["status"], "problems": meta["problems"], "business_key": meta["business_key"]}


def _readable_document(document_id: str) -> dict[str, Any]:
    who = me()
    meta = documents.describe(document_id)
    if meta is None:
        raise NotFound("Документ не найден", document_id=document_id)
    if not documents.may_read(who, meta):
        raise NotFound("Документ не найден", document_id=document_id)
    return meta


@api.get("/documents/<document_id>")
def document_info(document_id: str):  # type: ignore[no-untyped-def]
    return jsonify(_document_json(_readable_document(document_id)))


@api.get("/documents/<document_id>/content")
def document_content(document_id: str):  # type: ignore[no-untyped-def]
    return documents.send(_readable_document(document_id), inline=False)


# --- calendar and clock ---------------------------------------------------------------------


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"{name}: ожидается целое число", errors=[
            {"field": name, "message": "ожидается целое число", "code": "type"}]) from None
    if not low <= value <= high:
        raise ValidationFailed(f"{name}: от {low} до {high}", errors=[
            {"field": name, "message": f"от {low} до {high}", "code": "range"}])
    return value


@api.get("/calendar/add-working-days")
def add_working_days():  # type: ignore[no-untyped-def]
    raw = request.args.get("from", "")
    try:
        start = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed("from: дата ГГГГ-ММ-ДД", errors=[
            {"field": "from", "message": "ожидается дата ГГГГ-ММ-ДД", "code": "format"}]) from None
    days = _int_arg("days", 0, -3650, 3650)
    try:
        result = medflow().calendar.add_working_days(start, days)
    except (ValueError, OverflowError, KeyError) as exc:
        raise ValidationFailed("Дата вне поддерживаемого календаря", errors=[
            {"field": "from", "message": str(exc) or "вне календаря", "code": "range"}]) from None
    return jsonify({"from": start.isoformat(), "days": days, "date": result.isoformat()})


@api.post("/clock/advance")
def clock_advance():  # type: ignore[no-untyped-def]
    from engine.clock import parse_advance, simple_delta

    who = require("supervisor")
    mf = medflow()
    if mf.settings.clock_mode != "simulated" or not hasattr(mf.clock, "advance"):
        raise NotAllowed("Часы можно переводить только в режиме clock: simulated")
    amount = json_body().get("amount")
    try:
        value, unit = parse_advance(str(amount))
        if value > 3650:
            raise ValueError("не больше 3650 единиц за один перевод часов")
        if unit == "wd":
            target = datetime.fromisoformat(mf.store.helpers.working_days(value)) if value else mf.clock.now()
            now = mf.clock.set(target)
        else:
            now = mf.clock.advance(simple_delta(value, unit))
    except (ValueError, OverflowError) as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "amount", "message": str(exc), "code": "format"}]) from None
    current_app.logger.info("clock advanced by %s to %s by %s", amount, now, who.username)
    return jsonify({"now": now.isoformat()})

