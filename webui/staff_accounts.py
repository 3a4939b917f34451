"""`/monitor/staff/new` and `/monitor/staff/<username>/edit`: a staff account from the browser —
created with a first password, its name, e-mail, role and groups changed, its password reset
(the rules: engine/staff.py and engine/account_rules.py, the same as `medflow users add`).

Groups are offered as the ones the deployed diagrams give tasks to, so a typo does not create a
queue nobody works; a group not deployed yet goes in the free field. A refusal comes back as 422
with each message at its field, the form as it was sent, and nothing changed.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from engine.accounts import AccountInfo
from engine.errors import Conflict, ValidationFailed
from engine.staff import (
    add_member,
    edit_member,
    grantable_roles,
    known_groups,
    manageable,
    open_tasks_by_person,
    reset_password,
)
from webui.auth import ROLE_NAMES, roles_required, signed_in
from webui.display import field_messages, medflow
from webui.staff import MAX_INPUT, as_http

staff_accounts = Blueprint("staff_accounts", __name__)
_SEPARATORS = re.compile(r"[,;\s]+")


def _posted() -> dict[str, Any]:
    form = request.form
    groups = form.getlist("groups") + _SEPARATORS.split(form.get("other_groups", "")[:2000])
    return {"full_name": form.get("full_name", "").strip()[:MAX_INPUT * 2],
            "email": form.get("email", "").strip()[:MAX_INPUT * 2] or None,
            "role": form.get("role", "").strip()[:MAX_INPUT],
            "groups": [g.strip()[:MAX_INPUT] for g in groups if g.strip()]}


def _shown(person: AccountInfo) -> dict[str, Any]:
    """A person's profile as the editor's fields hold it."""
    return {"full_name": person.full_name, "email": person.email or "", "role": person.role,
            "groups": list(person.groups)}


def _mismatch() -> list[dict[str, str]]:
    """The refusal when the password and its repetition differ (nothing when they agree)."""
    if request.form.get("password", "")[:MAX_INPUT] == request.form.get("password_again", "")[:MAX_INPUT]:
        return []
    return [{"field": "password_again", "message": "Пароли не совпадают"}]


def _render(person: AccountInfo | None, values: dict[str, Any], errors: list[dict[str, str]] | None = None,
            status: int = 200) -> Any:
    accounts = current_app.extensions["accounts"]
    offered = known_groups(medflow(), accounts.staff())
    chosen = list(values.get("groups") or [])
    # Whoever may edit a person may also give them their present role (engine.staff.may_disable).
    return render_template(
        "monitor/staff_account.html", person=person, values=values, roles=grantable_roles(signed_in()),
        role_names=ROLE_NAMES,
        offered=offered, other_groups=" ".join(g for g in chosen if g not in offered), chosen=set(chosen),
        errors=errors or [], field_errors=field_messages(errors or [])), status


@staff_accounts.route("/staff/new", methods=["GET", "POST"])
@roles_required("supervisor")
def create():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        return _render(None, {"role": "operator", "groups": []})
    values = {**_posted(), "username": request.form.get("username", "").strip()[:MAX_INPUT]}
    mismatch = _mismatch()
    if mismatch:
        return _render(None, values, mismatch, 422)
    password = request.form.get("password", "")[:MAX_INPUT]
    try:
        made = add_member(current_app.extensions["accounts"], signed_in(), {**values, "password": password})
    except ValidationFailed as exc:
        return _render(None, values, exc.errors, 422)
    except Conflict as exc:
        return _render(None, values, [{"field": "username", "message": exc.message}], 422)
    flash(f"Учётная запись {made.username} создана. Сообщите сотруднику пароль лично.", "success")
    return redirect(url_for("staff.index"))


@staff_accounts.route("/staff/<username>/edit", methods=["GET", "POST"])
@roles_required("supervisor")
def edit(username: str):  # type: ignore[no-untyped-def]
    accounts = current_app.extensions["accounts"]
    with as_http():
        person = manageable(accounts, signed_in(), username)
    if request.method == "GET":
        return _render(person, _shown(person))
    values = _posted()
    try:
        with as_http():
            changed = edit_member(accounts, signed_in(), username, values)
    except ValidationFailed as exc:
        return _render(person, {**values, "email": values["email"] or ""}, exc.errors, 422)
    flash(f"Учётная запись {username} изменена.", "success")
    left = open_tasks_by_person(medflow().db, [username]).get(username, 0)
    if left and not changed.can("operator", "supervisor"):
        # The role can no longer work tasks, but the ones taken stay theirs until handed over.
        flash(f"У {username} осталось открытых задач: {left}; с новой ролью их не выполнить. Передайте их "
              f"коллегам в карточках задач.", "error")
    return redirect(url_for("staff.index"))


@staff_accounts.post("/staff/<username>/password")
@roles_required("supervisor")
def password(username: str):  # type: ignore[no-untyped-def]
    accounts = current_app.extensions["accounts"]
    with as_http():
        person = manageable(accounts, signed_in(), username)
    mismatch = _mismatch()
    if mismatch:
        return _render(person, _shown(person), mismatch, 422)
    try:
        reset_password(accounts, signed_in(), username, request.form.get("password", "")[:MAX_INPUT])
    except ValidationFailed as exc:
        return _render(person, _shown(person), exc.errors, 422)
    flash(f"Пароль {username} изменён, блокировка входа снята. Сообщите сотруднику пароль лично.", "success")
    return redirect(url_for("staff.index"))

