"""The ``expect`` step of a scenario: each key checks one thing and says, in Russian, what differs."""

from __future__ import annotations

from datetime import date
from typing import Any

from handlers.scenarios.session import ScenarioError, ScenarioSession

_MISSING = object()


def lookup(data: Any, path: str) -> Any:
    """``refusal_notice.items.documents.passport_scan``: keys may themselves contain dots."""
    if path == "":
        return data
    if not isinstance(data, dict):
        return _MISSING
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in data:
            found = lookup(data[key], ".".join(parts[end:]))
            if found is not _MISSING:
                return found
    return _MISSING


def matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, date):  # YAML reads 2027-04-26 as a date; the data holds ISO text
        expected = expected.isoformat()
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return all(matches(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(expected, dict) and set(expected) <= {"contains", "startswith", "not"} and expected:
        if "not" in expected:
            return not matches(actual, expected["not"])
        text = "" if actual is None else str(actual)
        if not isinstance(actual, str | int | float) and actual is not None:
            text = str(actual)
        return all((key != "contains" or str(value) in text) and (key != "startswith" or text.startswith(str(value)))
                   for key, value in expected.items())
    return actual == expected


def _show(value: Any) -> str:
    if isinstance(value, date):
        value = value.isoformat()
    return "нет значения" if value is _MISSING else f"«{value}»"


def _expect_equal(what: str, actual: Any, expected: Any) -> None:
    if not matches(actual, expected):
        raise ScenarioError(f"{what}: ожидалось {_show(expected)}, получено {_show(actual)}")


def _notification_matches(row: Any, wanted: dict[str, Any]) -> bool:
    fields = {"kind": row.kind, "channel": row.channel, "to": row.recipient, "subject": row.subject,
              "body": row.body, "status": row.status}
    for key, value in wanted.items():
        if key not in fields:
            raise ScenarioError(f"notifications: неизвестное поле «{key}» (есть {', '.join(fields)})")
        actual = fields[key]
        ok = str(value) in actual if key in ("subject", "body") else actual == value
        if not ok:
            return False
    return True


def check_expectations(session: ScenarioSession, spec: dict[str, Any]) -> list[str]:
    instance_name = spec.get("instance")
    inst = session.instance(instance_name)
    checked: list[str] = []
    for key, expected in spec.items():
        if key == "instance":
            continue
        if key in ("status", "portal_status"):
            _expect_equal(key, inst[key], expected)
        elif key == "open_tasks":
            actual = sorted(t["element_id"] for t in inst["open_tasks"])
            _expect_equal("открытые задачи", actual, sorted(expected or []))
        elif key == "tasks":
            _check_tasks(session, inst, expected)
        elif key == "timers":
            jobs = {j["element_id"]: session.due_day(j["due_at"]) for j in inst["jobs"] if j["kind"] == "timer"}
            for element, day in (expected or {}).items():
                _expect_equal(f"таймер «{element}»", jobs.get(element, _MISSING), str(day) if day else day)
        elif key == "data":
            for path, value in (expected or {}).items():
                _expect_equal(f"данные {path}", lookup(inst.get("data", {}), path), value)
        elif key == "notifications":
            _check_notifications(session, instance_name, expected, present=True)
        elif key == "no_notifications":
            _check_notifications(session, instance_name, expected, present=False)
        elif key == "tickets":
            reasons = [t.reason for t in session.tickets(instance_name)]
            _expect_equal("обращения в поддержку", reasons if isinstance(expected, list) else len(reasons), expected)
        elif key == "history":
            statuses = [e["new"] for e in session.medflow.queries.history(inst["id"]) if e["action"] == "status_changed"]
            _expect_equal("история статусов", statuses, expected)
        else:
            raise ScenarioError(f"неизвестная проверка «{key}»")
        checked.append(key)
    return checked


def _check_tasks(session: ScenarioSession, inst: dict[str, Any], expected: dict[str, Any]) -> None:
    tasks = {t["element_id"]: t for t in inst["open_tasks"]}
    for element, wanted in (expected or {}).items():
        task = tasks.get(element)
        if task is None:
            raise ScenarioError(f"задача «{element}» не открыта; открыты: {', '.join(tasks) or 'никакие'}")
        actual = {"group": task["candidate_group"], "assignee": task["assignee"], "due": session.due_day(task["due_at"]),
                  "overdue": task["overdue"]}
        for field_name, value in (wanted or {}).items():
            if field_name not in actual:
                raise ScenarioError(f"tasks: неизвестное поле «{field_name}» (есть {', '.join(actual)})")
            _expect_equal(f"задача «{element}», {field_name}", actual[field_name],
                          str(value) if field_name == "due" else value)


def _check_notifications(session: ScenarioSession, instance: str | None, expected: Any, present: bool) -> None:
    rows = session.notifications(instance)
    for wanted in expected or []:
        if not isinstance(wanted, dict):
            raise ScenarioError("notifications: каждый элемент — словарь (kind, channel, to, subject, body)")
        found = [r for r in rows if _notification_matches(r, wanted)]
        if present and not found:
            have = "; ".join(f"{r.kind}/{r.channel} → {r.recipient}: {r.subject}" for r in rows) or "нет"
            raise ScenarioError(f"нет уведомления {wanted}; отправлены: {have}")
        if not present and found:
            raise ScenarioError(f"не должно быть уведомления {wanted}, а оно есть: {found[0].subject}")
