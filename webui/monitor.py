"""Supervisor monitoring: instances with filters, an instance's diagram with its active and
completed elements, data, audit log, timers, incidents with retry (one, or a whole group at a
rate), cancel; the SLA dashboard."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from engine.errors import EngineError, NotFound
from engine.heartbeats import heartbeat_seconds, worker_states
from engine.incident_retries import MAX_PER_SECOND, REQUEST_LIMIT, IncidentFilter, ScheduledRetries
from webui import charts, definition_files, sla_stats
from webui.auth import account, roles_required, safe_next
from webui.display import local_time, medflow, plural
from webui.masking import mask_personal

monitor = Blueprint("monitor", __name__)
PAGE = 50


def _instance(ref: str) -> dict[str, Any]:
    if ref.isdigit() and len(ref) > 18:
        abort(404)
    try:
        return medflow().queries.instance(ref)
    except NotFound:
        abort(404)


def _before_arg() -> int | None:
    """The ``before`` cursor of a newest-first page (an id), ignored when it is not one."""
    return _id(request.args.get("before"))


def _id(text: str | None) -> int | None:
    """A row id from a form or a query string; None when it is not one (the column is 64-bit)."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 18 else None


def process_names() -> dict[str, str]:
    return {d["process_key"]: d["name"] for d in medflow().queries.definitions()}


@monitor.get("/")
@roles_required("supervisor")
def index():  # type: ignore[no-untyped-def]
    args = request.args
    number = (args.get("q") or "").strip()
    if number:
        try:
            found = medflow().queries.instance(number, with_data=False)
            return redirect(url_for("monitor.instance", ref=found["business_key"]))
        except NotFound:
            flash(f"Заявление {number} не найдено.", "error")
    rows = medflow().queries.instances(process_key=args.get("process") or None, status=args.get("status") or None,
                                       started_by=args.get("started_by") or None, limit=PAGE + 1,
                                       before_id=_before_arg())
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    processes = sorted(process_names().items())
    return render_template("monitor/index.html", rows=rows, more=more, processes=processes, args=args,
                           incidents=medflow().queries.incidents(limit=5),
                           incident_count=medflow().queries.open_incident_count(),
                           next_before=rows[-1]["id"] if more and rows else None)


DONE_ACTIONS = ("element_completed", "task_completed", "message_received", "timer_fired")
HISTORY_PAGE = 200


def highlights(instance: dict[str, Any], done: set[str]) -> dict[str, list[str]]:
    """Element ids to mark: where the instance is now and what it has completed (``done``:
    :meth:`Queries.visited_elements` for :data:`DONE_ACTIONS`)."""
    active = [t["element_id"] for t in instance.get("open_tasks") or []]
    active += [j["element_id"] for j in instance.get("jobs") or []]
    active += [i["element_id"] for i in instance.get("incidents") or [] if i.get("status") == "open"]
    active += list(instance.get("active_elements") or [])  # when the engine provides it
    problems = [i["element_id"] for i in instance.get("incidents") or [] if i.get("status") == "open"]
    return {"active": sorted(set(active)), "done": sorted(done - set(active)), "problems": sorted(set(problems))}


@monitor.get("/instances/<ref>")
@roles_required("supervisor")
def instance(ref: str):  # type: ignore[no-untyped-def]
    found = _instance(ref)
    # The latest events, a page at a time: a review loop or years of renewals make thousands.
    history = medflow().queries.history(found["id"], last=HISTORY_PAGE + 1, before_id=_before_arg())
    more, history = len(history) > HISTORY_PAGE, history[-HISTORY_PAGE:]
    return render_template("monitor/instance.html", instance=found, history=history,
                           older_before=history[0]["id"] if more else None,
                           data_json=json.dumps(mask_personal(found.get("data") or {}), ensure_ascii=False, indent=2,
                                                default=str))


@monitor.get("/instances/<ref>/diagram.json")
@roles_required("supervisor")
def diagram(ref: str):  # type: ignore[no-untyped-def]
    found = _instance(ref)
    definition = definition_files.by_id(found["definition_id"])
    marks = highlights(found, medflow().queries.visited_elements(found["id"], DONE_ACTIONS))
    files = [{"name": n, "xml": x} for n, x in definition["files"].items() if n.endswith(".bpmn")]
    files.sort(key=lambda f: f["name"] != definition["main_file"])
    return jsonify({"process_key": found["process_key"], "version": definition["version"], "files": files, **marks})


@monitor.post("/instances/<ref>/cancel")
@roles_required("supervisor")
def cancel(ref: str):  # type: ignore[no-untyped-def]
    found = _instance(ref)
    who = account()
    assert who is not None
    reason = request.form.get("reason", "").strip()[:500]
    if not reason:
        flash("Укажите причину отмены.", "error")
    else:
        try:
            medflow().runtime.cancel(found["id"], who.username, reason)
            flash(f"Заявление {found['business_key']} отменено.", "success")
        except EngineError as exc:
            flash(exc.message, "error")
    return redirect(url_for("monitor.instance", ref=found["business_key"]))


@monitor.post("/incidents/<int:incident_id>/retry")
@roles_required("supervisor")
def retry(incident_id: int):  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    try:
        result = medflow().runtime.retry_incident(incident_id, who.username)
        flash(f"Шаг повторён. Состояние: {result['status']}.", "success")
        target = url_for("monitor.instance", ref=str(result["instance_id"]))
    except EngineError as exc:
        flash(exc.message, "error")
        target = url_for("monitor.index")
    return redirect(safe_next(request.form.get("back")) or target)


RATE_ERROR = f"Скорость повтора — положительное число шагов в секунду, не больше {MAX_PER_SECOND:g}. Ничего не изменено."
_GROUP_FIELDS = ("process_key", "element_id", "handler")


def _group(source: Any) -> IncidentFilter:
    """A group of the incidents page from a form or query string (up to 200 characters, as stored)."""
    return IncidentFilter(**{name: (source.get(name) or "").strip()[:200] or None for name in _GROUP_FIELDS})


def _rate(text: str | None) -> float | None:
    """Steps per second; None for an empty field. People write a decimal comma."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(RATE_ERROR) from None
    if not 0 < rate <= MAX_PER_SECOND:  # also refuses nan
        raise ValueError(RATE_ERROR)
    return rate


def _spread(result: ScheduledRetries) -> str:
    """« с 12:00:00 по 12:00:05» (Moscow time) when the retries are spread over seconds."""
    first, last = result.first_due_at, result.last_due_at
    pattern = "%H:%M:%S" if local_time(first, "%F") == local_time(last, "%F") else "%d.%m.%Y %H:%M:%S"
    first_text, last_text = local_time(first, pattern), local_time(last, pattern)
    return "" if first_text == last_text else f" с {first_text} по {last_text}"


@monitor.get("/incidents")
@roles_required("supervisor")
def incidents():  # type: ignore[no-untyped-def]
    """Open incidents by procedure, step and handler (an outage is one group); with a group in
    the query string, that group's incidents a page at a time."""
    chosen = _group(request.args)
    rows: list[dict[str, Any]] = []
    more = False
    if chosen.process_key:
        rows = medflow().queries.incidents(limit=PAGE + 1, where=chosen, after_id=_id(request.args.get("after_id")))
        more, rows = len(rows) > PAGE, rows[:PAGE]
    return render_template("monitor/incidents.html", groups=medflow().queries.incident_groups(),
                           names=process_names(), chosen=chosen if chosen.process_key else None, rows=rows,
                           next_after=rows[-1]["id"] if more else None, max_rate=MAX_PER_SECOND)


@monitor.post("/incidents/retry")
@roles_required("supervisor")
def retry_incidents():  # type: ignore[no-untyped-def]
    who = account()
    assert who is not None
    back = redirect(url_for("monitor.incidents"))
    group = _group(request.form)
    up_to_id = _id(request.form.get("up_to_id"))
    # Only the group the person saw, up to its newest incident: never "everything" by a stray form.
    if not group.process_key or not group.element_id or not up_to_id:
        flash("Не указана группа инцидентов. Обновите страницу и повторите.", "error")
        return back
    try:
        per_second = _rate(request.form.get("per_second"))
    except ValueError as exc:
        flash(str(exc), "error")
        return back
    where = replace(group, up_to_id=up_to_id)
    try:
        result = medflow().runtime.retry_incidents(where, who.username, per_second, limit=REQUEST_LIMIT)
    except EngineError as exc:
        flash(exc.message, "error")
        return back
    if not result.scheduled:
        flash("Открытых инцидентов в этой группе уже нет: их повторили или закрыли.", "info")
        return back
    message = f"Повтор запланирован для {plural(result.scheduled, 'шага', 'шагов', 'шагов')}{_spread(result)}."
    if result.remaining > 0:
        message += f" Ещё {plural(result.remaining, 'шаг ждёт', 'шага ждут', 'шагов ждут')} — нажмите ещё раз."
    flash(message, "success")
    return back


@monitor.get("/dashboard")
@roles_required("supervisor")
def dashboard():  # type: ignore[no-untyped-def]
    groups, by_state = sla_stats.open_by_group()
    weeks, breaches = sla_stats.breaches_by_week()
    steps, durations = sla_stats.step_durations()
    return render_template(
        "monitor/dashboard.html",
        open_chart=charts.stacked_bars("Открытые задачи по группам и срокам", groups, by_state, sla_stats.STATE_COLORS),
        breach_chart=charts.stacked_bars("Нарушения сроков по неделям", weeks, breaches,
                                         sla_stats.colors_for(list(breaches))),
        duration_chart=charts.grouped_bars("Длительность шагов, рабочих дней", steps, durations,
                                           {"медиана": "#0d4cd3", "90-й перцентиль": "#d98e04"}, " р.д."),
        totals={"groups": groups, "by_state": by_state}, incident_count=medflow().queries.open_incident_count(),
        workers=worker_states(medflow().db, heartbeat_seconds(medflow())),
    )
