"""`/api/v1/substitutions`: who stands in for whom (замещение), for HR scripts and the web page's
clients. Supervisors name a deputy for anyone; an operator only for their own absence. Every
refusal names its field and saves nothing (engine/substitutions.py holds the rules)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from engine.errors import NotAllowed, NotFound, ValidationFailed
from engine.substitutions import may_manage
from webui.api import _ID, _int_arg, api, json_body, require
from webui.display import medflow

_FIELDS = ("absent", "deputy", "starts_on", "ends_on", "reason")
STAFF = ("operator", "supervisor")


def _strings(body: dict[str, Any]) -> dict[str, str]:
    wrong = [{"field": name, "message": "ожидается строка", "code": "type"}
             for name in _FIELDS if body.get(name) is not None and not isinstance(body.get(name), str)]
    if wrong:
        raise ValidationFailed("Замещение не сохранено", errors=wrong)
    return {name: body.get(name) or "" for name in _FIELDS}


@api.get("/substitutions")
def substitutions():  # type: ignore[no-untyped-def]
    who = require(*STAFF)
    person = request.args.get("person") or None
    if not who.can("supervisor"):
        person = who.username  # an operator sees their own absences and deputyships
    limit = _int_arg("limit", 200, 1, 1000)
    after = _int_arg("after_id", 0, 0, 2**62) or None
    rows = medflow().substitutions.current(person, limit=limit, after_id=after)
    today = medflow().substitutions.today()
    return jsonify([row.to_dict(today) for row in rows])


@api.post("/substitutions")
def add_substitution():  # type: ignore[no-untyped-def]
    who = require(*STAFF)
    values = _strings(json_body())
    if not may_manage(who.role, who.username, values["absent"]):
        raise NotAllowed("Сотрудник назначает заместителя только на своё отсутствие", absent=values["absent"])
    row = medflow().substitutions.add(actor=who.username, **values)
    return jsonify(row.to_dict(medflow().substitutions.today())), 201


@api.post("/substitutions/<substitution_id>/cancel")
def cancel_substitution(substitution_id: str):  # type: ignore[no-untyped-def]
    who = require(*STAFF)
    if not _ID.fullmatch(substitution_id):
        raise NotFound(f"Замещение {substitution_id[:40]} не найдено", substitution_id=substitution_id[:40])
    subs = medflow().substitutions
    row = subs.get(int(substitution_id))
    if not may_manage(who.role, who.username, row.absent):
        raise NotAllowed("Отменить замещение может руководитель или сам отсутствующий", absent=row.absent)
    return jsonify(subs.cancel(row.id, who.username).to_dict(subs.today()))
