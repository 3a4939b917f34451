"""Timer workers' heartbeats: written after ticks (not every tick), read as alive or silent by
/metrics and `medflow workers`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine import handler_registry
from engine.heartbeats import Heartbeat, worker_states
from engine.models import AuditEvent, Job, WorkerHeartbeat
from engine.worker import Worker


class WallClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def _rows(medflow) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    with medflow.db.read() as session:
        return [tuple(r) for r in session.execute(select(WorkerHeartbeat.worker_id, WorkerHeartbeat.ticks,
                                                         WorkerHeartbeat.fired))]


def test_a_worker_beats_after_its_first_tick_and_then_at_most_every_period(medflow, sim_clock):
    worker = Worker(medflow, "w1")
    worker.heartbeat = Heartbeat(medflow.db, "w1", every_seconds=3600)
    assert _rows(medflow) == []
    worker.tick()
    assert _rows(medflow) == [("w1", 1, 0)]
    medflow.runtime.start("wait_working_days", {"days": 1})
    sim_clock.advance(timedelta(days=5))
    assert worker.tick().fired == 1
    assert _rows(medflow) == [("w1", 1, 0)]  # within the period: counted, not written
    worker.heartbeat.every = 0
    worker.tick()
    assert _rows(medflow) == [("w1", 3, 1)]


def test_a_worker_silent_for_three_periods_is_not_alive(medflow):
    wall = WallClock()
    Heartbeat(medflow.db, "host:1", every_seconds=10, now=wall).tick_done(2, 1, ["задание 7: сбой"])
    wall.at += timedelta(seconds=25)
    Heartbeat(medflow.db, "host:2", every_seconds=10, now=wall).tick_done(0, 0, [])
    wall.at += timedelta(seconds=10)
    states = {s.worker_id: s for s in worker_states(medflow.db, 10, now=wall)}
    assert (states["host:1"].alive, states["host:1"].age_seconds) == (False, 35.0)
    assert (states["host:2"].alive, states["host:2"].age_seconds) == (True, 10.0)
    assert (states["host:1"].fired, states["host:1"].failed, states["host:1"].last_error) == (2, 1, "задание 7: сбой")
    wall.at += timedelta(days=2)  # gone for more than a day: no longer listed
    assert worker_states(medflow.db, 10, now=wall) == []


def test_metrics_show_each_workers_heartbeat_age_and_the_alive_count(medflow):
    from argon2 import PasswordHasher

    from engine.accounts import Accounts
    from webui.app import create_app

    Worker(medflow, "w-metrics").tick()
    accounts = Accounts(medflow.db, medflow.settings, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    body = create_app(medflow, accounts, TESTING=True).test_client().get("/metrics").get_data(as_text=True)
    assert 'medflow_worker_heartbeat_age_seconds{worker="w-metrics"}' in body
    assert "medflow_workers_alive 1.0" in body


def test_medflow_workers_lists_them(tmp_path):
    env = {"MEDFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    run = [sys.executable, "-m", "engine.cli"]
    once = subprocess.run([*run, "worker", "--once", "--json"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)
    assert once.returncode == 0, once.stderr
    listed = subprocess.run([*run, "workers", "--json"], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    assert listed.returncode == 0, listed.stderr
    (worker,) = json.loads(listed.stdout)
    assert worker["alive"] is True and worker["ticks"] == 1 and ":" in worker["worker_id"]
    human = subprocess.run([*run, "workers"], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert human.stdout.startswith("жив  ") and "сработало 0" in human.stdout


def _warm(medflow, sim_clock) -> None:  # type: ignore[no-untyped-def]
    """Fire one quick instance first, unwatched: a cold first step (the diagram parsed, the
    handler imported) on a loaded machine must not be what the watch catches."""
    medflow.runtime.start("slow_registry", {"delay": 0})
    sim_clock.advance(timedelta(hours=2))
    warm = Worker(medflow, "w-warm")
    warm.stuck_seconds = 0
    assert warm.tick().fired == 1


def test_a_tick_that_hangs_writes_where_it_hangs(medflow, sim_clock, tmp_path):
    _slow_registry(medflow, "delay")
    _warm(medflow, sim_clock)
    medflow.runtime.start("slow_registry", {"delay": 1.5})
    worker = Worker(medflow, "w-stuck")
    worker.stuck_seconds = 0.5
    with open(tmp_path / "stuck.txt", "w+") as report:
        worker.stuck_report = report
        assert worker.tick().fired == 0  # nothing due: a quick tick reports nothing
        sim_clock.advance(timedelta(hours=2))
        assert worker.tick().fired == 1  # the slow registry answered after 1.5 s
        report.seek(0)
        written = report.read()
    assert written.count("Timeout (0:00:00.500000)!") == 1
    assert "in test_slow" in written and "engine_test_handlers.py" in written


def _slow_registry(medflow, seconds: str) -> None:  # type: ignore[no-untyped-def]
    from tests import bpmn_samples as b

    xml = b.bpmn(b.process("slow_registry", b.timer_event("wait", '"PT1H"'),
                           b.service_task("ask", "test_slow", {"seconds": seconds})))
    medflow.definitions.deploy({"slow_registry.bpmn": xml.encode()})


def test_a_long_tick_that_keeps_firing_is_not_stuck(medflow, sim_clock, tmp_path):
    """The watch is reset by progress: four batches of 0.25 s make a tick of over a second, longer
    than the 0.7 s limit, and none of them is stuck."""
    _slow_registry(medflow, "delay")
    _warm(medflow, sim_clock)
    for _ in range(4):
        medflow.runtime.start("slow_registry", {"delay": 0.25})
    sim_clock.advance(timedelta(hours=2))
    worker = Worker(medflow, "w-busy")
    worker.stuck_seconds, worker.fire_batch = 0.7, 1
    with open(tmp_path / "stuck.txt", "w+") as report:
        worker.stuck_report = report
        assert worker.tick().fired == 4
        report.seek(0)
        assert report.read() == ""


def test_a_standalone_worker_stuck_in_a_handler_exits_and_its_job_fires_later(medflow, database_url, sim_clock,
                                                                             monkeypatch):
    """`medflow worker` hung in a registry call for a minute: after stuck_seconds (2) it writes where, and
    exits for its supervisor to restart; nothing of the step is kept, and the lease brings the job back."""
    from tests.conftest import TESTS

    _slow_registry(medflow, "60")
    started = medflow.runtime.start("slow_registry", {})  # due at START + 1 h: long past in real time
    env = {**os.environ, "MEDFLOW_DATABASE_URL": database_url, "MEDFLOW_CLOCK": "real",
           "MEDFLOW_WORKER_STUCK_SECONDS": "2", "MEDFLOW_PATHS_FORMS": str(TESTS / "forms"),
           "MEDFLOW_HANDLERS_MODULES": "[handlers, tests.engine_test_handlers]"}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "engine.cli", "worker"], capture_output=True, text=True,
                          env=env, timeout=45)  # the handler sleeps 60 s: only the exit ends it sooner
    assert done.returncode == 1 and time.monotonic() - began < 40, done.stderr
    assert "Timeout (0:00:02)!" in done.stderr and "in test_slow" in done.stderr
    with medflow.db.read() as session:
        (job,) = session.scalars(select(Job).where(Job.instance_id == started["id"])).all()
        fired = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == started["id"],
                                                         AuditEvent.action == "timer_fired")).all()
    assert job.status == "waiting" and job.lease_owner and fired == []
    assert medflow.queries.instance(started["id"])["status"] == "running"
    # The registry answers again; once the dead worker's lease has run out, another one fires the job.
    spec = handler_registry._REGISTRY["test_slow"]
    monkeypatch.setitem(handler_registry._REGISTRY, "test_slow", replace(spec, func=lambda seconds: {"slept": 0}))
    sim_clock.set(datetime.now(UTC) + timedelta(minutes=2))
    assert Worker(medflow, "w-next").tick().fired == 1
    assert medflow.queries.instance(started["id"])["status"] == "completed"
