"""`/api/v1/tasks`: the worklist for API clients, with the worklist's visibility rules.

Operators see tasks of their groups and their own, supervisors all, applicants the forms of
their own applications (group ``applicants``). Completing validates against the task's JSON
Schema: 422 with per-field errors; 409 when someone else claimed or completed it first.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from flask import jsonify, request

from engine.account_rules import APPLICANT_GROUP
from engine.accounts import AccountInfo
from engine.errors import NotFound, ValidationFailed
from webui.api import _int_arg, api, json_body, me
from webui.display import medflow
from webui.work_scope import may_see, scope_of


def _visible(who: AccountInfo, task: dict[str, Any]) -> bool:
    """``task`` holds at least what :meth:`Queries.task_access` returns."""
    if who.role == "applicant":
        # The applicant's own application: the rule of instance_for, read with the task.
        return task.get("candidate_group") == APPLICANT_GROUP and task.get("started_by") == who.username
    if task.get("candidate_group") == APPLICANT_GROUP:
        return False
    if who.can("supervisor"):
        return True
    return who.role == "operator" and may_see(who, task)


def _task(task_id: str) -> dict[str, Any]:
    """The task with its forms, if ``me()`` may see it."""
    _check_access(task_id)
    return medflow().queries.task(task_id)


def _check_access(task_id: str) -> None:
    if not _visible(me(), medflow().queries.task_access(task_id)):
        raise NotFound(f"Задача {task_id} не найдена", task_id=task_id)



@api.get("/tasks")
def tasks():  # type: ignore[no-untyped-def]
    who = me()
    status = request.args.get("status") or "open"
    if status not in ("open", "completed", "cancelled"):
        raise ValidationFailed("status: open, completed или cancelled",
                               errors=[{"field": "status", "message": "неизвестное состояние", "code": "enum"}])
    groups: list[str] | None = None
    assignee: list[str] | None = None
    started_by: str | None = None
    if who.role == "operator":
        scope = scope_of(who)
        groups, assignee = list(scope.groups), list(scope.usernames)
    elif who.role == "applicant":
        groups, started_by = [APPLICANT_GROUP], who.username
    limit = _int_arg("limit", 50, 1, 500)
    rows = medflow().queries.tasks(
        groups=groups, assignee=assignee, overdue=request.args.get("overdue") in ("1", "true"),
        process_key=request.args.get("process_key") or None, business_key=request.args.get("business_key") or None,
        status=status, limit=limit, after=_cursor_arg(request.args.get("after")), started_by=started_by)
    # The cursor is the last row the query returned, before the filters below, so no task is skipped.
    next_after = _cursor(rows[-1]) if len(rows) == limit else None
    if request.args.get("assignee"):
        rows = [t for t in rows if t.get("assignee") == request.args["assignee"]]
    if who.role == "applicant":
        owners = medflow().queries.started_by(sorted({t["business_key"] for t in rows}))
        rows = [{**t, "started_by": owners.get(t["business_key"])} for t in rows]
    visible = [t for t in rows if _visible(who, t)]
    for t in visible:
        t.pop("started_by", None)
    response = jsonify(visible)
    if next_after:
        response.headers["X-Next-After"] = next_after
    return response


def _cursor(row: dict[str, Any]) -> str:
    """An opaque keyset cursor: the sort key of the last row of a page."""
    raw = json.dumps([row["due_at"], row["created_at"], row["id"]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_arg(text: str | None) -> tuple[Any, Any, str] | None:
    if not text:
        return None
    try:
        due, created, task_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return (datetime.fromisoformat(due) if due else None, datetime.fromisoformat(created), str(task_id))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValidationFailed("after: неверный курсор страницы", errors=[
            {"field": "after", "message": "передайте значение заголовка X-Next-After предыдущей страницы",
             "code": "cursor"}]) from exc


@api.get("/tasks/<task_id>")
def task(task_id: str):  # type: ignore[no-untyped-def]
    return jsonify(_task(task_id))


@api.get("/tasks/<task_id>/form")
def form(task_id: str):  # type: ignore[no-untyped-def]
    found = _task(task_id)
    return jsonify({"task_id": task_id, "schema": found.get("schema"), "ui_schema": found.get("ui_schema")})


@api.post("/tasks/<task_id>/claim")
def claim(task_id: str):  # type: ignore[no-untyped-def]
    _check_access(task_id)
    medflow().runtime.claim(task_id, me().username)
    return jsonify(medflow().queries.task(task_id))


@api.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str):  # type: ignore[no-untyped-def]
    _check_access(task_id)
    who = me()
    medflow().runtime.unclaim(task_id, who.username, force=who.can("supervisor"))
    return jsonify(medflow().queries.task(task_id))


@api.post("/tasks/<task_id>/complete")
def complete(task_id: str):  # type: ignore[no-untyped-def]
    _check_access(task_id)
    body = json_body()
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ValidationFailed("data должно быть объектом", errors=[{"field": "data", "message": "ожидается объект",
                                                                     "code": "type"}])
    return jsonify(medflow().runtime.complete(task_id, data, user=me().username))
