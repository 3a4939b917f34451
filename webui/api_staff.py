"""`/api/v1/staff`: the staff with their open tasks and absences, and departures for HR systems —
disable an account (its open tasks to a colleague or back to the groups' queues, its
substitutions ended) and enable it again. The rules are /monitor/staff's (engine/staff.py,
engine/departures.py); a refusal names its field and changes nothing.

Disabling is safe to repeat: an HR system that lost the answer sends it again, and a second run
finishes what an interrupted first one left (no task is moved twice).
"""

from __future__ import annotations

from flask import current_app, jsonify

from engine.departures import depart
from engine.errors import ValidationFailed
from engine.staff import add_member, edit_member, manageable, overview, reenable, reset_password
from webui.api import api, json_body, require
from webui.display import medflow


@api.get("/staff")
def staff_list():  # type: ignore[no-untyped-def]
    require("supervisor")
    return jsonify([member.to_dict() for member in overview(medflow(), current_app.extensions["accounts"])])


@api.post("/staff/<username>/disable")
def staff_disable(username: str):  # type: ignore[no-untyped-def]
    who = require("supervisor")
    accounts = current_app.extensions["accounts"]
    manageable(accounts, who, username)
    to = json_body().get("to")
    if to is not None and not isinstance(to, str):
        raise ValidationFailed("Задачи не переданы", errors=[{"field": "to", "message": "ожидается строка",
                                                             "code": "type"}])
    gone = depart(medflow(), accounts, username, who.username, (to or "").strip() or None)
    return jsonify(gone.to_dict(medflow().substitutions.today()))


@api.post("/staff/<username>/enable")
def staff_enable(username: str):  # type: ignore[no-untyped-def]
    reenable(current_app.extensions["accounts"], require("supervisor"), username)
    return jsonify({"username": username, "active": True})


@api.post("/staff")
def staff_create():  # type: ignore[no-untyped-def]
    made = add_member(current_app.extensions["accounts"], require("supervisor"), json_body())
    return jsonify(made.to_dict()), 201


@api.patch("/staff/<username>")
def staff_update(username: str):  # type: ignore[no-untyped-def]
    changed = edit_member(current_app.extensions["accounts"], require("supervisor"), username, json_body())
    return jsonify(changed.to_dict())


@api.post("/staff/<username>/password")
def staff_password(username: str):  # type: ignore[no-untyped-def]
    reset_password(current_app.extensions["accounts"], require("supervisor"), username, json_body().get("password"))
    return jsonify({"username": username, "password_changed": True})
