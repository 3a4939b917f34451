"""Figures of the SLA dashboard, from the worklist projection (open and completed user tasks).

Durations and lateness are counted in working days of the production calendar, as deadlines are.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from webui.applications import APPLICANT_GROUP
from webui.display import as_datetime, last_day, medflow, sla_badge, zone

LIMIT = 10000
STATES = {"ok": "в срок", "near": "срок близко", "overdue": "просрочено", "none": "без срока"}
STATE_COLORS = {"в срок": "#0f7a3d", "срок близко": "#d98e04", "просрочено": "#b3261e", "без срока": "#8aa0bd"}
PALETTE = ["#0d4cd3", "#0f7a3d", "#d98e04", "#b3261e", "#6b4fbb", "#00838f", "#8aa0bd"]


def _staff(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in rows if t.get("candidate_group") != APPLICANT_GROUP]


def open_by_group() -> tuple[list[str], dict[str, list[float]]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for task in _staff(medflow().queries.tasks(status="open", limit=LIMIT)):
        badge = sla_badge(task.get("due_at"), "open")
        counts[task.get("candidate_group") or "—"][STATES[badge["state"] if badge else "none"]] += 1
    groups = sorted(counts)
    return groups, {label: [float(counts[g][label]) for g in groups] for label in STATES.values()}


def _week(value: Any) -> str:
    day = last_day(value)
    if day is None:
        return "—"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def breaches_by_week(weeks: int = 8) -> tuple[list[str], dict[str, list[float]]]:
    """Tasks finished after their deadline, and open ones past it, by the deadline's week."""
    now = medflow().clock.now()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = _staff(medflow().queries.tasks(status="completed", limit=LIMIT))
    rows += _staff(medflow().queries.tasks(status="open", limit=LIMIT))
    for task in rows:
        due = as_datetime(task.get("due_at"))
        if due is None:
            continue
        finished = as_datetime(task.get("completed_at")) or now
        if finished > due:
            counts[_week(due)][task["process_key"]] += 1
    chosen = sorted(counts)[-weeks:]
    processes = sorted({p for week in chosen for p in counts[week]})
    return chosen, {p: [float(counts[w][p]) for w in chosen] for p in processes}


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, math.ceil(q * len(ordered)) - 1)
    return float(ordered[rank])


def step_durations() -> tuple[list[str], dict[str, list[float]]]:
    """Median and p90 of the working days from a task's creation to its completion, per step."""
    calendar = medflow().calendar
    tz = zone()
    durations: dict[str, list[int]] = defaultdict(list)
    for task in _staff(medflow().queries.tasks(status="completed", limit=LIMIT)):
        created, done = as_datetime(task.get("created_at")), as_datetime(task.get("completed_at"))
        if created is None or done is None:
            continue
        days = calendar.working_days_between(created.astimezone(tz).date(), done.astimezone(tz).date())
        durations[f"{task['name']} ({task['process_key']})"].append(max(0, days))
    steps = sorted(durations)
    return steps, {"медиана": [_percentile(durations[s], 0.5) for s in steps],
                   "90-й перцентиль": [_percentile(durations[s], 0.9) for s in steps]}


def colors_for(names: list[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
