"""How engine values are shown to people: Moscow time, ДД.ММ.ГГГГ, SLA badges in working days.

>>> sla_badge(task, now, calendar, zone)      # doctest: +SKIP
{'state': 'near', 'days': 1, 'text': 'остался 1 раб. день'}
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from engine.bootstrap import MedFlow

# A task whose deadline is this many working days away or closer gets the amber badge.
NEAR_DAYS = 2

STATUS_NAMES = {"running": "в работе", "completed": "завершён", "cancelled": "отменён", "incident": "инцидент"}
ACTION_NAMES = {
    "instance_started": "Заявление создано", "status_changed": "Статус изменён", "task_created": "Задача создана",
    "task_claimed": "Задача взята в работу", "task_unclaimed": "Задача возвращена в очередь",
    "task_assigned": "Задача передана", "task_completed": "Задача выполнена", "task_cancelled": "Задача отменена",
    "message_received": "Получено сообщение", "timer_fired": "Сработал таймер", "retry_fired": "Повтор шага",
    "retry_scheduled": "Шаг будет повторён", "incident_opened": "Инцидент", "incident_retried": "Инцидент: повтор",
    "instance_cancelled": "Заявление отменено", "instance_completed": "Заявление завершено",
    "element_completed": "Шаг выполнен", "error_caught": "Обработана ошибка",
    "incident_retry_scheduled": "Повтор по инциденту запланирован",
}  # fmt: skip


def medflow() -> MedFlow:
    return current_app.extensions["medflow"]


def zone() -> ZoneInfo:
    return ZoneInfo(medflow().settings.timezone)


def as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed


def local_datetime(value: Any) -> str:
    parsed = as_datetime(value)
    if parsed is None:
        return "—"
    if parsed.tzinfo is None:
        return parsed.strftime("%d.%m.%Y %H:%M")
    return parsed.astimezone(zone()).strftime("%d.%m.%Y %H:%M")


def local_time(value: Any, pattern: str = "%H:%M:%S") -> str:
    """To the second, for what is seconds apart (retries spread at a rate): ``12:00:05``."""
    parsed = as_datetime(value)
    if parsed is None:
        return "—"
    return (parsed.astimezone(zone()) if parsed.tzinfo else parsed).strftime(pattern)


# An aware ISO time as the engine writes it into audit events (a retry's due time, a timer's).
_AUDIT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def audit_value(value: Any) -> Any:
    """An audit event's old or new value for a person: a time in Moscow time, to the second (a
    retry's due time), anything else as it is."""
    if isinstance(value, str) and _AUDIT_TIME.fullmatch(value):
        return local_time(value, "%d.%m.%Y %H:%M:%S")
    return value


def last_day(value: Any) -> date | None:
    """The last day to act: a deadline "end of the 10th working day" is stored as the following midnight."""
    parsed = as_datetime(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.date()
    return (parsed - timedelta(microseconds=1)).astimezone(zone()).date()


def local_date(value: Any) -> str:
    day = last_day(value)
    return day.strftime("%d.%m.%Y") if day else "—"


def _plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def plural(n: int, one: str, few: str, many: str) -> str:
    return f"{n} {_plural(n, one, few, many)}"


def near_cutoff(mf: MedFlow, now: datetime) -> datetime:
    """The end of the NEAR_DAYS-th working day from today: a deadline before it is "near" (amber),
    as :func:`sla_badge` counts it (for the figures counted in SQL)."""
    local = mf.store.helpers.zone
    day = mf.calendar.add_working_days(now.astimezone(local).date(), NEAR_DAYS)
    return datetime(day.year, day.month, day.day, tzinfo=local) + timedelta(days=1)


def sla_badge(due_at: Any, status: str = "open") -> dict[str, Any] | None:
    """Working days left until the deadline: ok, near (amber) or overdue (red)."""
    due = as_datetime(due_at)
    if due is None or status != "open":
        return None
    mf = medflow()
    now = mf.clock.now()
    today = now.astimezone(zone()).date()
    day = last_day(due)
    assert day is not None
    if due <= now:
        late = max(1, mf.calendar.working_days_between(day, today))
        return {"state": "overdue", "days": -late,
                "text": f"просрочено на {plural(late, 'раб. день', 'раб. дня', 'раб. дней')}"}
    left = mf.calendar.working_days_between(today, day)
    if left <= 0:
        return {"state": "near", "days": 0, "text": "срок — сегодня"}
    state = "near" if left <= NEAR_DAYS else "ok"
    return {"state": state, "days": left, "text": f"осталось {plural(left, 'раб. день', 'раб. дня', 'раб. дней')}"}


def file_size(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} Б"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} КБ"
    return f"{size / 1024 / 1024:.1f} МБ"


def field_messages(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """A refusal's errors as _fields.html reads them: {field name: [Russian messages]}."""
    by_field: dict[str, list[str]] = {}
    for error in errors:
        by_field.setdefault(error.get("field") or "", []).append(error.get("message") or "")
    return by_field


def init_app(app: Flask) -> None:
    app.add_template_filter(local_datetime, "dt")
    app.add_template_filter(audit_value, "audit")
    app.add_template_filter(local_date, "day")
    app.add_template_filter(file_size, "filesize")
    app.add_template_global(sla_badge, "sla_badge")
    app.add_template_global(plural, "plural")

    @app.context_processor
    def _names() -> dict[str, Any]:
        mf = medflow()
        return {"status_names": STATUS_NAMES, "action_names": ACTION_NAMES,
                "simulated_now": mf.clock.now() if mf.settings.clock_mode == "simulated" else None}
