"""Figures of the SLA dashboard, from the worklist projection (open and completed user tasks).

Durations and lateness are counted in working days of the production calendar, as deadlines are.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from engine.reports import percentile
from engine.sla_queries import deadline_breaches, open_tasks_by_sla, recent_completions
from webui.applications import APPLICANT_GROUP
from webui.display import as_datetime, last_day, medflow, near_cutoff, zone

# The step durations are those of the most recently completed tasks, this many.
RECENT = 10000
STATES = {"ok": "в срок", "near": "срок близко", "overdue": "просрочено", "none": "без срока"}
STATE_COLORS = {"в срок": "#0f7a3d", "срок близко": "#d98e04", "просрочено": "#b3261e", "без срока": "#8aa0bd"}
PALETTE = ["#0d4cd3", "#0f7a3d", "#d98e04", "#b3261e", "#6b4fbb", "#00838f", "#8aa0bd"]


def open_by_group() -> tuple[list[str], dict[str, list[float]]]:
    """Every open staff task, counted in SQL by group and deadline state."""
    mf = medflow()
    now = mf.clock.now()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for group, state, count in open_tasks_by_sla(mf.db, now, near_cutoff(mf, now)):
        if group != APPLICANT_GROUP:
            counts[group or "—"][STATES[state]] += count
    groups = sorted(counts)
    return groups, {label: [float(counts[g][label]) for g in groups] for label in STATES.values()}


def _week(value: Any) -> str:
    day = last_day(value)
    if day is None:
        return "—"
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def breaches_by_week(weeks: int = 8) -> tuple[list[str], dict[str, list[float]]]:
    """Tasks finished after their deadline, and open ones past it, by the deadline's week: the
    last ``weeks`` weeks, this one included."""
    mf = medflow()
    now = mf.clock.now()
    today = now.astimezone(zone()).date()
    monday = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    since = datetime(monday.year, monday.month, monday.day, tzinfo=zone())
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for task in deadline_breaches(mf.db, since, now):
        if task["candidate_group"] != APPLICANT_GROUP:
            counts[_week(task["due_at"])][task["process_key"]] += 1
    chosen = sorted(counts)
    processes = sorted({p for week in chosen for p in counts[week]})
    return chosen, {p: [float(counts[w][p]) for w in chosen] for p in processes}


def _percentile(values: list[int], q: float) -> float:
    return percentile(values, q) or 0.0


def step_durations() -> tuple[list[str], dict[str, list[float]]]:
    """Median and p90 of the working days from a task's creation to its completion, per step,
    over the most recently completed tasks."""
    calendar = medflow().calendar
    tz = zone()
    durations: dict[str, list[int]] = defaultdict(list)
    for task in recent_completions(medflow().db, RECENT, except_group=APPLICANT_GROUP):
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
