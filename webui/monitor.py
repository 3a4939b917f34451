"""Supervisor monitoring: instances with filters, an instance's diagram with its active and
completed elements, data, audit log, timers, incidents with retry, cancel; the SLA dashboard."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from engine.errors import EngineError, NotFound
from engine.heartbeats import heartbeat_seconds, worker_states
from webui import charts, definition_files, sla_stats
from webui.auth import account, roles_required
from webui.display import medflow
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
    before = request.args.get("before", "")
    return int(before) if before.isdigit() and len(before) < 18 else None


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
    processes = sorted({d["process_key"]: d["name"] for d in medflow().queries.definitions()}.items())
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
    return redirect(request.form.get("back") or target)


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
