"""`/monitor/security` and `GET /api/v1/security-events`: the security journal for admins —
logins and failed attempts, lockouts, API tokens, accounts created, changed, disabled, passwords
set, substitutions — newest first, a page at a time (152-ФЗ asks that access to personal data be
reviewable; until now only SQL read it).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from engine.errors import ValidationFailed
from webui.api import _int_arg, api, require
from webui.auth import roles_required

security = Blueprint("security", __name__)
PAGE = 100
# What each journalled action is called on the page; an unknown one is shown as it is stored.
ACTIONS = {
    "login_succeeded": "Вход", "login_failed": "Неудачный вход", "login_refused_locked": "Вход при блокировке",
    "login_refused_expired": "Вход с истёкшим выданным паролем",
    "account_locked": "Блокировка после неудачных попыток", "logout": "Выход",
    "token_issued": "Выпущен токен API", "token_revoked": "Отозван токен API",
    "account_created": "Создана учётная запись", "account_disabled": "Учётная запись отключена",
    "account_enabled": "Учётная запись включена", "password_changed": "Задан пароль",
    "account_full_name_changed": "Изменены ФИО", "account_email_changed": "Изменена почта",
    "account_role_changed": "Изменена роль", "account_groups_changed": "Изменены группы",
    "substitution_added": "Назначен заместитель", "substitution_cancelled": "Замещение отменено",
}


def _events() -> tuple[list[dict[str, Any]], int]:
    """A page by ?limit= and ?before_id= (the previous page's last id), refused by field when wrong."""
    limit, before = _int_arg("limit", PAGE, 1, 1000), _int_arg("before_id", 0, 0, 2**62) or None
    return current_app.extensions["accounts"].security_events(limit, before), limit


@security.get("/security")
@roles_required()  # admins only
def page():  # type: ignore[no-untyped-def]
    try:
        events, limit = _events()
    except ValidationFailed as exc:
        return render_template("monitor/security.html", events=[], actions=ACTIONS, next_before=None,
                               error=exc.errors[0]["message"]), 422
    next_before = events[-1]["id"] if len(events) == limit else None
    return render_template("monitor/security.html", events=events, actions=ACTIONS, next_before=next_before,
                           error=None)


@api.get("/security-events")
def security_events():  # type: ignore[no-untyped-def]
    require()  # admins only
    events, limit = _events()
    response = jsonify([{**e, "at": e["at"].isoformat() if e["at"] else None} for e in events])
    if len(events) == limit:
        response.headers["X-Next-Before-Id"] = str(events[-1]["id"])
    return response
