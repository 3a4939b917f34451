"""Rules of specialist accreditation that are not a table (order No. 709н).

Periodic accreditation: a portfolio with at least ``min_hours`` of continuing education (144 by the
decision table ``accreditation_terms``), filed no earlier than 12 months before the previous
accreditation expires and before it has expired (after expiry it is a primary one again).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from engine.handler_registry import CallContext, handler
from engine.identifiers import parse_ru_date
from handlers.certificates import add_months
from handlers.services import environment

_PARAMS = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["primary", "primary_specialized", "periodic", "temporary"]},
        "portfolio": {"type": ["object", "null"]},
        "previous": {"type": ["object", "null"]},
        "min_hours": {"type": ["integer", "null"], "minimum": 0},
    },
}


@handler("accreditation_checks", params=_PARAMS)
def accreditation_checks(
    kind: str, ctx: CallContext, portfolio: dict[str, Any] | None = None, previous: dict[str, Any] | None = None,
    min_hours: int | None = None,
) -> dict[str, Any]:
    """Errors a person can fix (``errors``) and a reason the application cannot be filed now (``blocking``)."""
    errors: dict[str, str] = {}
    blocking = None
    if kind != "periodic":
        return {"ok": True, "errors": errors, "blocking": None}
    hours = int((portfolio or {}).get("education_hours") or 0)
    needed = int(min_hours or 144)
    if hours < needed:
        errors["portfolio.education_hours"] = f"Нужно не меньше {needed} часов непрерывного образования, указано {hours}"
    expires = parse_ru_date((previous or {}).get("valid_until"))
    today = ctx.now.astimezone(ZoneInfo(environment(ctx).settings.timezone)).date()
    if expires is None:
        errors["previous.valid_until"] = "Укажите дату окончания предыдущей аккредитации"
    elif today > expires:
        blocking = (f"предыдущая аккредитация истекла {expires:%d.%m.%Y}: "
                    "подайте заявление на первичную специализированную аккредитацию")
    elif today < (earliest := _months_before(expires, 12)):
        blocking = (f"периодическую аккредитацию можно подать не ранее чем за 12 месяцев до окончания "
                    f"предыдущей — с {earliest:%d.%m.%Y}")
    return {"ok": not errors and blocking is None, "errors": errors, "blocking": blocking}


def _months_before(day: date, months: int) -> date:
    # add_months clamps the day to the month's end (29.02 → 28.02), which is what people expect.
    return add_months(day, -months)
