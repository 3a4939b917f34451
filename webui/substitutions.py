"""`/worklist/substitutions`: who stands in for whom while someone is away (замещение).

Supervisors name a deputy for any operator or supervisor; an operator only for their own absence
(the absent field of their form is fixed, and the server checks it again — a form is easy to
edit). The engine (engine/substitutions.py) holds the rules and answers every refusal by field
in Russian, saving nothing; this page shows those answers next to the fields with status 422.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from engine.accounts import AccountInfo
from engine.errors import EngineError, ValidationFailed
from engine.substitutions import SubstitutionInfo, may_manage
from webui.auth import account, roles_required, safe_next, signed_in
from webui.display import field_messages, medflow
from webui.work_scope import scope_of

substitutions = Blueprint("substitutions", __name__)
STAFF = ("operator", "supervisor")
FIELDS = ("absent", "deputy", "starts_on", "ends_on", "reason")
PAGE = 100
# Longer input than any valid value is cut before it is echoed back into the page; the engine
# still refuses what is too long (reason > 300) with its own message.
MAX_INPUT = 1000
# Ids are 64-bit columns: a longer number in the URL is simply not one of ours (and would make
# the database driver overflow instead of answering "not found").
MAX_ID = 2**62
NOT_YOURS = "Оператор назначает заместителя только на время своего отсутствия."



def _manages_all(who: AccountInfo) -> bool:
    return who.can("supervisor")


def _staff() -> list[AccountInfo]:
    """Operators and supervisors who may be away or stand in (active accounts only).
    A region's staff is hundreds of people at most, so one page of 1,000 holds them all."""
    people = current_app.extensions["accounts"].page(roles=("operator", "supervisor"), limit=1000)
    return [p for p in people if p.active]


def standing_in(who: AccountInfo) -> list[SubstitutionInfo]:
    """The substitutions under which ``who`` works someone else's tasks today (the worklist's
    notice «Вы замещаете …»), each with its last day."""
    return list(scope_of(who).covering)


def _after_arg() -> int | None:
    text = (request.args.get("after") or "").strip()
    # ASCII digits only ("²".isdigit() is true, int() refuses it), and short enough to be an id.
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def _page(who: AccountInfo, values: dict[str, str], errors: list[dict[str, str]], status: int) -> Any:
    subs = medflow().substitutions
    person = None if _manages_all(who) else who.username
    rows = subs.current(person, limit=PAGE + 1, after_id=_after_arg())
    more, rows = len(rows) > PAGE, rows[:PAGE]
    staff = _staff()
    names = {p.username: p.full_name for p in staff}
    return render_template(
        "worklist/substitutions.html", rows=rows, today=subs.today(), values=values, errors=errors,
        field_errors=field_messages(errors), names=names, manages_all=_manages_all(who),
        deputies=[p for p in staff if p.username != who.username], staff=staff,
        may_cancel={r.id for r in rows if may_manage(who.role, who.username, r.absent)},
        next_after=rows[-1].id if more and rows else None), status


def _blank(who: AccountInfo) -> dict[str, str]:
    values = dict.fromkeys(FIELDS, "")
    values["starts_on"] = medflow().substitutions.today().isoformat()
    if not _manages_all(who):
        values["absent"] = who.username
    return values


@substitutions.get("")
@roles_required(*STAFF)
def index():  # type: ignore[no-untyped-def]
    who = signed_in()
    return _page(who, _blank(who), [], 200)


@substitutions.post("")
@roles_required(*STAFF)
def add():  # type: ignore[no-untyped-def]
    who = signed_in()
    values = {name: (request.form.get(name) or "").strip()[:MAX_INPUT] for name in FIELDS}
    if not _manages_all(who) and not values["absent"]:
        values["absent"] = who.username  # the field is fixed for an operator: empty means themselves
    if not may_manage(who.role, who.username, values["absent"]):
        errors = [{"field": "absent", "message": NOT_YOURS, "code": "not_allowed"}]
        # Only an operator gets here, and their absent field is not editable: show their own
        # name again, so that the form can simply be sent once more.
        return _page(who, {**values, "absent": who.username}, errors, 422)
    try:
        row = medflow().substitutions.add(actor=who.username, **values)
    except ValidationFailed as exc:
        return _page(who, values, exc.errors, 422)
    flash(f"Заместитель назначен: {row.deputy} замещает {row.absent} "
          f"с {row.starts_on:%d.%m.%Y} по {row.ends_on:%d.%m.%Y}.", "success")
    return redirect(url_for("substitutions.index"))  # PRG: a reload does not post again


@substitutions.post("/<int:substitution_id>/cancel")
@roles_required(*STAFF)
def cancel(substitution_id: int):  # type: ignore[no-untyped-def]
    who = signed_in()
    back = safe_next(request.form.get("back")) or url_for("substitutions.index")
    if substitution_id >= MAX_ID:
        flash(f"Замещение {substitution_id} не найдено", "error")
        return redirect(back)
    subs = medflow().substitutions
    try:
        row = subs.get(substitution_id)
        if not may_manage(who.role, who.username, row.absent):
            abort(403, "Отменить замещение может руководитель или сам отсутствующий.")
        done = subs.cancel(substitution_id, who.username)
    except EngineError as exc:  # gone, already cancelled or already over: the engine's words
        flash(exc.message, "error")
    else:
        flash(f"Замещение отменено: {done.deputy} больше не замещает {done.absent}.", "success")
    return redirect(back)


@substitutions.app_template_global("standing_in_for")
def covering(assignee: str | None) -> SubstitutionInfo | None:
    """The substitution under which the person looking stands in for ``assignee`` today, if any:
    the task page tells a deputy that the absent person's task is theirs to take over."""
    who = account()
    if who is None or not assignee or assignee == who.username:
        return None
    return scope_of(who).covering_for(assignee)
