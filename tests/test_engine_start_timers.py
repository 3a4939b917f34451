"""Timer start events start instances on time, once per due start, and follow redeployment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.definitions import collect_files
from engine.worker import Worker

# Kept apart from tests/diagrams: their scheduled starts would fire in every other timer test.
START_DIAGRAMS = Path(__file__).resolve().parent / "diagrams_start"


@pytest.fixture(autouse=True)
def _deploy_start_timers(medflow):
    medflow.definitions.deploy(collect_files([START_DIAGRAMS]))


def _starts(medflow, key: str) -> list[dict]:
    return [i for i in medflow.queries.instances(process_key=key)]


def test_cycle_start_timer_starts_one_instance_per_cycle(medflow, sim_clock):
    worker = Worker(medflow, "w1")
    assert worker.tick().fired == 0
    assert _starts(medflow, "hourly_report") == []
    sim_clock.set(datetime(2026, 5, 4, 9, 0, 1, tzinfo=UTC))
    assert worker.tick().fired == 1
    (first,) = _starts(medflow, "hourly_report")
    inst = medflow.queries.instance(first["id"])
    assert inst["status"] == "completed" and inst["data"]["compiled"] is True  # did not wait a second time
    assert worker.tick().fired == 0  # never twice for one due start
    for hour in (1, 2, 3, 4):
        sim_clock.set(datetime(2026, 5, 4, 9, 0, 1, tzinfo=UTC) + timedelta(hours=hour))
        worker.tick()
    assert len(_starts(medflow, "hourly_report")) == 3  # R3: three starts, no more


def test_date_start_timer_in_working_days(medflow, sim_clock):
    # Deployed on Thursday 30.04.2026: the next working day after is Monday 04.05 (1–3 May off).
    worker = Worker(medflow, "w1")
    sim_clock.set(datetime(2026, 5, 4, 20, 0, tzinfo=UTC))
    worker.tick()  # (the hourly report of the other process is due by now: it may start)
    assert _starts(medflow, "after_holidays") == []
    sim_clock.set(datetime(2026, 5, 4, 21, 0, 1, tzinfo=UTC))  # midnight Moscow after 04.05
    worker.tick()
    (started,) = _starts(medflow, "after_holidays")
    assert started["status"] == "completed"


def test_redeploying_replaces_the_schedule(medflow, sim_clock):
    files = collect_files([START_DIAGRAMS])
    changed = files["start_timers.bpmn"].replace(b"R3/2026-05-04T09:00:00+00:00/PT1H", b"R1/2026-06-01T09:00:00+00:00/PT1H")
    medflow.definitions.deploy({**files, "start_timers.bpmn": changed})
    sim_clock.set(datetime(2026, 5, 4, 12, 0, tzinfo=UTC))
    Worker(medflow, "w1").tick()
    assert _starts(medflow, "hourly_report") == []  # the old schedule is gone
    sim_clock.set(datetime(2026, 6, 1, 9, 0, 1, tzinfo=UTC))
    Worker(medflow, "w1").tick()
    (started,) = _starts(medflow, "hourly_report")
    assert medflow.queries.instance(started["id"])["version"] == 2
