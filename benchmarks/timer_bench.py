"""Timers on PostgreSQL with real `medflow worker` processes and the real clock.

``waiting`` instances wait on a timer (most far in the future). Then ``burst`` timers fall due at
the same instant, first with one worker, then (a new burst) with two; then a steady stream below
capacity. Lateness is what the engine records on each job (fire time − due time); the fire rate is
the burst divided by the time from its due instant to the last fire. Duplicates: instances with
more than one ``timer_fired`` audit event (each instance has exactly one timer).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.environment import engine_for, subprocess_env
from benchmarks.processes import Process, peak_rss_mb
from benchmarks.report import percentile
from engine.bootstrap import MedFlow
from engine.bulk_data import Cloner
from engine.models import AuditEvent, Job


def _workers(n: int, env: dict[str, str], tmp: Path, tag: str) -> list[Process]:
    procs = [Process([sys.executable, "-m", "engine.cli", "worker"], env, tmp / f"worker-{tag}-{i}.log")
             for i in range(n)]
    deadline = time.monotonic() + 60
    for proc in procs:  # "запущен" is printed once the engine is built and the scheduler starts
        while "запущен" not in proc.tail(5):
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{proc.tail()}")
            time.sleep(0.1)
    return procs


def _stream(medflow: MedFlow, count: int, spread_s: int, rng: random.Random, lead: float) -> datetime:
    """``count`` instances whose timers fall due from now + ``lead`` (time to clone them) over
    ``spread_s`` seconds."""
    due = (medflow.clock.now() + timedelta(seconds=lead)).replace(microsecond=0)
    template = medflow.runtime.start("wait_until", {"due": due.isoformat()}, actor="bench")["id"]
    Cloner(medflow.db, medflow.clock.now(), with_audit=False).clone(template, count - 1, rng, spread=(0, spread_s))
    return due


def _drain(medflow: MedFlow, due_from: datetime, due_to: datetime, timeout: float) -> list[Any]:
    """Wait until every job due in [due_from, due_to] has fired; their (due_at, fired_at, lateness_ms)."""
    window = (Job.due_at >= due_from, Job.due_at <= due_to, Job.kind == "timer")
    deadline = time.monotonic() + timeout
    while True:
        with medflow.db.read() as session:
            left = session.scalar(select(func.count()).select_from(Job).where(Job.status == "waiting", *window))
        if not left:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} timers still waiting after {timeout:.0f}s")
        time.sleep(0.25)
    with medflow.db.read() as session:
        return list(session.execute(select(Job.due_at, Job.fired_at, Job.lateness_ms).where(
            Job.status == "done", *window)).all())


def _burst(medflow: MedFlow, burst: int, workers: int, env: dict[str, str], tmp: Path,
           rng: random.Random, lead: float) -> dict[str, Any]:
    procs = _workers(workers, env, tmp, f"burst{workers}")
    try:
        due = _stream(medflow, burst, 0, rng, lead)
        if medflow.clock.now() >= due:
            raise RuntimeError("cloning the burst took longer than its lead time")
        rows = _drain(medflow, due, due, timeout=600)
        rss = max(peak_rss_mb(p.pid) for p in procs)
    finally:
        for proc in procs:
            proc.stop()
    lateness = [r.lateness_ms / 1000 for r in rows]
    last = max(r.fired_at for r in rows)
    return {"fired": len(rows), "p50_s": percentile(lateness, 0.5), "p99_s": percentile(lateness, 0.99),
            "early": sum(1 for v in lateness if v < 0), "rate": len(rows) / max(0.001, (last - due).total_seconds()),
            "rss_mb": rss}


def timers(url: str, tmp: Path, waiting: int, burst: int, steady: int, steady_seconds: int,
           lead: float) -> dict[str, Any]:
    medflow = engine_for(url, tmp, kind="tests")
    env = subprocess_env(url, tmp, MEDFLOW_HANDLERS_MODULES="[handlers, tests.engine_test_handlers, benchmarks.bench_handlers]",
                         MEDFLOW_PATHS_FORMS="tests/forms")
    rng = random.Random(8)
    try:
        far = medflow.clock.now() + timedelta(days=30)
        template = medflow.runtime.start("wait_until", {"due": far.isoformat()}, actor="bench")["id"]
        started = time.perf_counter()
        # The rest of the waiting instances fall due over ten days from a month on: never during the run.
        Cloner(medflow.db, medflow.clock.now(), with_audit=False).clone(template, waiting - burst - 1, rng,
                                                                         spread=(0, 10 * 86400))
        result: dict[str, Any] = {"clone_s": time.perf_counter() - started}
        result["one"] = _burst(medflow, burst, 1, env, tmp, rng, lead)
        result["two"] = _burst(medflow, burst, 2, env, tmp, rng, lead)
        procs = _workers(2, env, tmp, "steady")
        try:
            start = _stream(medflow, steady, steady_seconds, rng, lead)
            rows = _drain(medflow, start, start + timedelta(seconds=steady_seconds), timeout=600)
        finally:
            for proc in procs:
                proc.stop()
        lateness = [r.lateness_ms / 1000 for r in rows]
        result["steady"] = {"fired": len(rows), "rate": len(rows) / max(1, steady_seconds),
                            "p50_s": percentile(lateness, 0.5), "p99_s": percentile(lateness, 0.99)}
        with medflow.db.read() as session:
            per_instance = select(AuditEvent.instance_id, func.count().label("n")).where(
                AuditEvent.action == "timer_fired").group_by(AuditEvent.instance_id).subquery()
            result["duplicates"] = int(session.scalar(select(func.coalesce(func.sum(per_instance.c.n - 1), 0))
                                                      .where(per_instance.c.n > 1)) or 0)
        return result
    finally:
        medflow.db.dispose()
