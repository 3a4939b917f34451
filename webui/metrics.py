"""`/metrics` in the Prometheus text format.

Two kinds of figures:

* **From the database at scrape time** (the same for every process, whichever served the
  scrape): applications in progress by procedure and status, open tasks by group and SLA state,
  open incidents, timers waiting and overdue, and the lateness of the timers fired in the last few
  minutes by *any* worker, and how long ago each timer worker last finished a tick
  (``worker_heartbeats``). Each is one indexed query over open work only, so a scrape does not
  grow with the years of finished applications. Those are counted too, but at most every
  ``web.metrics_finished_seconds`` per process (:class:`FinishedTotals`).
* **Of this process**: engine commands (start, complete, message, timer…) counted and timed as
  they happen. :func:`instrument` wraps the runtime's commands until the engine offers a hook
  (see docs/production.md). Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR``
  so the figures of all worker processes are added up.

``web.metrics_token`` (optional) requires ``Authorization: Bearer <token>`` for a scrape.
"""

from __future__ import annotations

import functools
import hmac
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from engine.bootstrap import MedFlow
from engine.db import Database
from engine.heartbeats import heartbeat_seconds, worker_states
from engine.models import Instance, Job
from engine.sla_queries import open_tasks_by_sla
from webui.display import medflow, near_cutoff

metrics = Blueprint("metrics", __name__)

# Process-local figures live in their own registry: the default one would also collect the
# database gauges twice if another library registered there.
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
STEP_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
STEPS = Counter("medflow_steps", "Engine commands (each one committed transaction) run by this process",
                ["command", "outcome"], registry=PROCESS_REGISTRY)
STEP_SECONDS = Histogram("medflow_step_duration_seconds", "Time of an engine command, from lock to commit",
                         ["command"], buckets=STEP_BUCKETS, registry=PROCESS_REGISTRY)
COMMANDS = ("start", "complete", "claim", "unclaim", "assign", "send_message", "cancel", "fire_job", "fire_jobs",
            "retry_incident")
LATENESS_WINDOW = timedelta(minutes=5)
LATENESS_HORIZON = timedelta(days=1)
OPEN_STATUSES = ("running", "incident")
_OPEN_INSTANCES = (select(Instance.process_key, Instance.status, func.count())
                   .where(Instance.status.in_(OPEN_STATUSES)).group_by(Instance.process_key, Instance.status))
_FINISHED_INSTANCES = (select(Instance.process_key, Instance.status, func.count())
                       .where(Instance.status.not_in(OPEN_STATUSES)).group_by(Instance.process_key, Instance.status))


def instrument(medflow_: MedFlow) -> None:
    """Count and time every runtime command of this engine; idempotent."""
    runtime = medflow_.runtime
    for name in COMMANDS:
        original = getattr(runtime, name)
        if getattr(original, "_medflow_metrics", False):
            continue
        setattr(runtime, name, _timed(name, original))


def _timed(name: str, command: Callable[..., Any]) -> Callable[..., Any]:
    histogram = STEP_SECONDS.labels(name)

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = command(*args, **kwargs)
            # fire_job answers False (fire_jobs 0) when another worker fired first: not a step.
            outcome = "skipped" if result is False or (type(result) is int and result == 0) else "ok"
            return result
        finally:
            STEPS.labels(name, outcome).inc()
            if outcome == "ok":
                histogram.observe(time.perf_counter() - started)

    run._medflow_metrics = True  # type: ignore[attr-defined]
    return run


class FinishedTotals:
    """Finished applications (completed, cancelled) by procedure, counted at most every
    ``refresh_seconds`` in a process. The count reads every application ever finished, so it only
    grows (counting all applications was 37 ms of a 104 ms scrape at 100,000 on PostgreSQL), while
    a total a few minutes old serves a dashboard just as well; work in progress stays live."""

    def __init__(self, refresh_seconds: float, timer: Callable[[], float] = time.monotonic) -> None:
        self.refresh_seconds = refresh_seconds
        self._timer = timer
        self._lock = threading.Lock()
        self._rows: list[tuple[str, str, int]] | None = None
        self._counted_at = 0.0

    def rows(self, db: Database) -> list[tuple[str, str, int]]:
        with self._lock:  # concurrent scrapes of one process count once
            if self._rows is None or self._timer() - self._counted_at >= self.refresh_seconds:
                with db.read_one() as connection:
                    self._rows = [(k, s, int(n)) for k, s, n in connection.execute(_FINISHED_INSTANCES)]
                self._counted_at = self._timer()
            return self._rows


def finished_totals(mf: MedFlow) -> FinishedTotals:
    """This application's :class:`FinishedTotals` (one per Flask app, i.e. per engine)."""
    totals = current_app.extensions.get("medflow_finished_totals")
    if totals is None:
        refresh = float(mf.settings.get("web.metrics_finished_seconds", 300) or 0)
        totals = current_app.extensions.setdefault("medflow_finished_totals", FinishedTotals(refresh))
    return totals


class DatabaseCollector(Collector):
    """Gauges computed by a few aggregate queries each time Prometheus scrapes."""

    def __init__(self, mf: MedFlow, finished: FinishedTotals) -> None:
        self.mf = mf
        self.finished = finished

    def collect(self) -> Iterator[GaugeMetricFamily]:
        mf = self.mf
        now = mf.clock.now()
        tasks = open_tasks_by_sla(mf.db, now, near_cutoff(mf, now))
        finished = self.finished.rows(mf.db)
        # By step as well as in all: an outage is one step's count rising, which an alert can
        # name; as many series as steps with an open incident, a handful. The total is their sum.
        by_step = mf.queries.open_incidents_by_step()
        incidents = sum(count for *_, count in by_step)
        with mf.db.read() as session:
            conn = session.connection()
            instances = [*conn.execute(_OPEN_INSTANCES).all(), *finished]
            waiting, due, oldest = conn.execute(
                select(func.count(), func.count(case((Job.due_at <= now, 1))), func.min(Job.due_at))
                .where(Job.status == "waiting")).one()
            # Jobs fired in the window; bounding due_at lets the (status, due_at) index keep this a
            # range scan over one day instead of every job ever fired (fired_at has no index). A job
            # more than a day late is missing here but shows in medflow_jobs_oldest_due_seconds first.
            lateness = sorted(v for (v,) in conn.execute(
                select(Job.lateness_ms).where(Job.status == "done", Job.due_at >= now - LATENESS_HORIZON,
                                              Job.fired_at >= now - LATENESS_WINDOW,
                                              Job.lateness_ms.is_not(None))))
        g = GaugeMetricFamily("medflow_instances", "Applications by procedure and status (running and incident "
                              "live; completed and cancelled counted every web.metrics_finished_seconds)",
                              labels=["process_key", "status"])
        for process_key, status, count in instances:
            g.add_metric([process_key, status], count)
        yield g
        g = GaugeMetricFamily("medflow_open_tasks", "Open user tasks by candidate group and SLA state "
                              "(overdue, near: deadline within the next working days, ok, none: no deadline)",
                              labels=["candidate_group", "sla"])
        for group, state, count in tasks:
            g.add_metric([group or "", state], count)
        yield g
        yield GaugeMetricFamily("medflow_incidents_open", "Open incidents (steps that need a person)", value=incidents)
        g = GaugeMetricFamily("medflow_incidents_open_by_step", "Open incidents by procedure, step and handler",
                              labels=["process_key", "element_id", "handler"])
        for process_key, element_id, handler, count in by_step:
            g.add_metric([process_key or "", element_id, handler or ""], count)
        yield g
        yield GaugeMetricFamily("medflow_jobs_waiting", "Timers and retries waiting in the database", value=waiting)
        yield GaugeMetricFamily("medflow_jobs_due", "Timers and retries already due but not fired yet (worker backlog)",
                                value=due)
        backlog = (now - _aware(oldest)).total_seconds() if oldest is not None and due else 0.0
        yield GaugeMetricFamily("medflow_jobs_oldest_due_seconds", "How long the oldest due job has waited",
                                value=max(0.0, backlog))
        g = GaugeMetricFamily("medflow_timer_lateness_seconds", "Lateness of the timers fired in the last "
                              f"{int(LATENESS_WINDOW.total_seconds() // 60)} minutes, by quantile",
                              labels=["quantile"])
        for q in (0.5, 0.9, 0.99, 1.0):
            g.add_metric([str(q)], _quantile(lateness, q) / 1000)
        yield g
        yield GaugeMetricFamily("medflow_timers_fired_recent", "Timers and retries fired in that window",
                                value=len(lateness))
        workers = worker_states(mf.db, heartbeat_seconds(mf))
        g = GaugeMetricFamily("medflow_worker_heartbeat_age_seconds", "Seconds since each timer worker seen in "
                              "the last day last finished a tick (a stuck or stopped worker grows)", labels=["worker"])
        for worker in workers:
            g.add_metric([worker.worker_id], worker.age_seconds)
        yield g
        yield GaugeMetricFamily("medflow_workers_alive", "Timer workers that finished a tick within three "
                                "heartbeat periods (worker.heartbeat_seconds)", value=sum(w.alive for w in workers))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _quantile(ordered: list[int], q: float) -> float:
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))])


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return PROCESS_REGISTRY


@metrics.get("/metrics")
def scrape():  # type: ignore[no-untyped-def]
    token = str(medflow().settings.get("web.metrics_token") or "")
    if token:
        sent = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            abort(403)
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(medflow(), finished_totals(medflow())))
    body = generate_latest(database) + generate_latest(_process_registry())
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
