"""`/monitor/staff`: the staff at a glance — role, groups, open tasks, who is away and who stands
in — and a departure from the browser: disable an account and hand its open tasks to a colleague
or back to the groups' queues (engine/departures.py, the same as `medflow users disable`).

A refusal (an unknown colleague, oneself, someone not working with tasks) comes back as 422 with
the message at the row's field, and nothing is changed: the engine checks the colleague before it
disables anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from engine.departures import depart
from engine.errors import NotAllowed, NotFound, ValidationFailed
from engine.staff import manageable, may_disable, overview, reenable
from webui.auth import ROLE_NAMES, roles_required, signed_in
from webui.display import medflow

staff = Blueprint("staff", __name__)
MAX_INPUT = 200



def _page(errors: dict[str, list[str]] | None = None, chosen: dict[str, str] | None = None, status: int = 200) -> Any:
    who, members = signed_in(), overview(medflow(), current_app.extensions["accounts"])
    return render_template(
        "monitor/staff.html", members=members, role_names=ROLE_NAMES,
        manageable={m.person.username for m in members if may_disable(who, m.person)},
        colleagues=[m.person for m in members if m.person.active and m.person.role in ("operator", "supervisor")],
        errors=errors or {}, chosen=chosen or {}), status


@contextmanager
def as_http() -> Iterator[None]:
    """No such staff member: 404; not theirs to manage: 403 with the engine's words."""
    try:
        yield
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        abort(403, exc.message)


@staff.get("/staff")
@roles_required("supervisor")
def index():  # type: ignore[no-untyped-def]
    return _page()


@staff.post("/staff/<username>/disable")
@roles_required("supervisor")
def disable(username: str):  # type: ignore[no-untyped-def]
    with as_http():
        person = manageable(current_app.extensions["accounts"], signed_in(), username)
    if not person.active:
        flash(f"Учётная запись {username} уже отключена.", "info")
        return redirect(url_for("staff.index"))
    to = (request.form.get("to") or "").strip()[:MAX_INPUT] or None
    try:
        gone = depart(medflow(), current_app.extensions["accounts"], username, signed_in().username, to)
    except ValidationFailed as exc:
        return _page({username: [e.get("message") or "" for e in exc.errors]}, {username: to or ""}, 422)
    flash(gone.headline(), "success")
    for s in gone.substitutions_cancelled:
        if s.deputy == username:
            flash(f"{username} замещал(а) {s.absent} по {s.ends_on:%d.%m.%Y}: назначьте другого заместителя.", "error")
    return redirect(url_for("staff.index"))


@staff.post("/staff/<username>/enable")
@roles_required("supervisor")
def enable(username: str):  # type: ignore[no-untyped-def]
    with as_http():
        changed = reenable(current_app.extensions["accounts"], signed_in(), username)
    if changed:
        flash(f"Учётная запись {username} включена.", "success")
    return redirect(url_for("staff.index"))
