"""`/api/v1/incidents`: a supervisor's incidents — listed, grouped, retried one by one or as a group.

After a registry outage every application that called it holds an incident; the group of that
step is retried with one request, at a rate the registry can take (see
:mod:`engine.incident_retries`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import jsonify, request

from engine.errors import NotFound, ValidationFailed
from engine.incident_retries import MAX_PER_SECOND, REQUEST_LIMIT, IncidentFilter
from webui.api import _ID, _int_arg, api, json_body, require
from webui.display import medflow

_FILTERS = ("process_key", "element_id", "handler")


def _invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", errors=[{"field": field, "message": message, "code": code}])


def _text(source: Mapping[str, Any], name: str) -> str | None:
    value = source.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise _invalid(name, "ожидается строка до 200 символов", "type")
    return value


def _whole(source: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(name, "ожидается целое число", "type")
    if not low <= value <= high:
        raise _invalid(name, f"от {low} до {high}", "range")
    return value


def _rate(source: Mapping[str, Any]) -> float | None:
    value = source.get("per_second")
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= MAX_PER_SECOND:
        raise _invalid("per_second", f"число шагов в секунду: больше 0 и не больше {MAX_PER_SECOND:g}", "range")
    return float(value)


@api.get("/incidents")
def incidents():  # type: ignore[no-untyped-def]
    require("supervisor")
    status = request.args.get("status") or "open"
    if status not in ("open", "resolved"):
        raise _invalid("status", "open или resolved", "enum")
    where = IncidentFilter(**{name: _text(request.args, name) for name in _FILTERS})
    filtered = where != IncidentFilter()
    if filtered and status != "open":
        raise _invalid("status", "отбор по процедуре, шагу и обработчику — только среди открытых", "enum")
    limit = _int_arg("limit", 200, 1, 1000)
    after = _int_arg("after_id", 0, 0, 2**62) or None
    return jsonify(medflow().queries.incidents(status=status, limit=limit, after_id=after,
                                               where=where if filtered else None))


@api.get("/incidents/groups")
def incident_groups():  # type: ignore[no-untyped-def]
    require("supervisor")
    return jsonify(medflow().queries.incident_groups())


@api.post("/incidents/<incident_id>/retry")
def retry_incident(incident_id: str):  # type: ignore[no-untyped-def]
    who = require("supervisor")
    if not _ID.fullmatch(incident_id):
        raise NotFound(f"Инцидент {incident_id[:40]} не найден", incident_id=incident_id[:40])
    return jsonify(medflow().runtime.retry_incident(int(incident_id), who.username))


@api.post("/incidents/retry")
def retry_incidents():  # type: ignore[no-untyped-def]
    who = require("supervisor")
    body = json_body()
    where = IncidentFilter(**{name: _text(body, name) for name in _FILTERS},
                           up_to_id=_whole(body, "up_to_id", 1, 2**62))
    per_second = _rate(body)
    limit = _whole(body, "limit", 1, REQUEST_LIMIT) or REQUEST_LIMIT
    return jsonify(medflow().runtime.retry_incidents(where, who.username, per_second, limit).as_dict())
