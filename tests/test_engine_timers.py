"""Timers fire from the database through the worker, never early, across holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.models import Job
from engine.worker import Worker


def test_working_day_timer_across_may_holidays(medflow, sim_clock):
    started = medflow.runtime.start("wait_working_days", {"days": 10})
    inst = medflow.queries.instance(started["id"])
    (job,) = inst["jobs"]
    # 10 working days after Thursday 30.04.2026 is Monday 18.05.2026 (1, 11 May are days off).
    assert job["due_at"] == "2026-05-18T21:00:00+00:00"
    assert job["expression"] == "working_days(days)"
    worker = Worker(medflow, "w1")
    sim_clock.set(datetime(2026, 5, 18, 20, 59, tzinfo=UTC))
    assert worker.tick().fired == 0
    assert medflow.queries.instance(started["id"])["status"] == "running"
    sim_clock.set(datetime(2026, 5, 18, 21, 0, 1, tzinfo=UTC))
    result = worker.tick()
    assert result.fired == 1
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed" and done["data"]["waited"] is True
    history = medflow.queries.history(started["id"])
    fired = [e for e in history if e["action"] == "timer_fired"]
    assert len(fired) == 1 and fired[0]["details"]["lateness_ms"] == 1000
    assert worker.tick().fired == 0  # at-least-once leases, but the effect happens once


def test_working_day_timer_across_new_year(medflow, sim_clock):
    sim_clock.set(datetime(2025, 12, 30, 10, 0, tzinfo=UTC))
    started = medflow.runtime.start("wait_working_days", {"days": 5})
    (job,) = medflow.queries.instance(started["id"])["jobs"]
    # 31.12.2025 and 1–11.01.2026 are days off: the five are 12–16.01.
    assert job["due_at"] == "2026-01-16T21:00:00+00:00"


def test_boundary_reminder_does_not_interrupt_and_is_cancelled_with_the_task(medflow, sim_clock):
    started = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    inst = medflow.queries.instance(started["id"])
    (reminder,) = inst["jobs"]
    assert reminder["element_id"] == "remind" and reminder["due_at"] == "2026-05-06T21:00:00+00:00"
    assert inst["next_due_at"] == reminder["due_at"]  # the timer scan's column: the earliest waiting job
    worker = Worker(medflow, "w1")
    sim_clock.set(datetime(2026, 5, 7, 9, 0, tzinfo=UTC))
    assert worker.tick().fired == 1
    after = medflow.queries.instance(started["id"])
    assert len(after["open_tasks"]) == 1  # the review still waits
    assert after["jobs"] == [] and after["next_due_at"] is None
    task = after["open_tasks"][0]
    medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")
    medflow.runtime.send_message("resubmit", started["business_key"], {}, actor="a")
    again = medflow.queries.instance(started["id"])
    assert [j["element_id"] for j in again["jobs"]] == ["remind"]  # a fresh reminder for the new round
    assert again["next_due_at"] == again["jobs"][0]["due_at"]
    medflow.runtime.complete(again["open_tasks"][0]["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(started["id"])["jobs"] == []


def test_interrupting_boundary_timer_cancels_the_task_and_sets_due(medflow, sim_clock):
    started = medflow.runtime.start("answer_or_expire", {})
    inst = medflow.queries.instance(started["id"])
    (task,) = inst["open_tasks"]
    assert task["candidate_group"] == "clerks"
    assert task["due_at"] == (sim_clock.now() + timedelta(hours=2)).isoformat()
    assert medflow.queries.tasks(groups=["clerks"], overdue=True) == []
    sim_clock.advance(timedelta(hours=3))
    assert [t["id"] for t in medflow.queries.tasks(groups=["clerks"], overdue=True)] == [task["id"]]
    assert Worker(medflow, "w1").tick().fired == 1
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed"
    assert done["portal_status"] == "Отказано в предоставлении услуги"
    assert medflow.queries.tasks(groups=["clerks"]) == []


def test_completing_before_the_timer_cancels_it(medflow, sim_clock):
    started = medflow.runtime.start("answer_or_expire", {})
    (task,) = medflow.queries.instance(started["id"])["open_tasks"]
    medflow.runtime.complete(task["id"], {}, user="clerk")
    sim_clock.advance(timedelta(hours=3))
    assert Worker(medflow, "w1").tick().fired == 0
    assert medflow.queries.instance(started["id"])["portal_status"] is None


def test_timer_survives_a_restart(database_url, sim_clock):
    from engine.definitions import collect_files
    from tests.conftest import DIAGRAMS, make_medflow

    first = make_medflow(database_url, sim_clock)
    first.definitions.deploy(collect_files([DIAGRAMS]))
    started = first.runtime.start("wait_working_days", {"days": 1})
    first.db.dispose()
    second = make_medflow(database_url, sim_clock)  # a new process: nothing in memory
    sim_clock.advance(timedelta(days=10))
    assert Worker(second, "w2").tick().fired == 1
    assert second.queries.instance(started["id"])["status"] == "completed"
    second.db.dispose()


def test_a_timer_that_fires_inside_another_command_is_recorded_as_fired(medflow, sim_clock):
    """The message arrives an hour after the timer fell due and before any worker came: the step
    fires the timer too. Its job is done (not cancelled) and the log says it fired, and how late."""
    started = medflow.runtime.start("faults_parallel_wait", {})
    (job,) = medflow.queries.instance(started["id"])["jobs"]
    sim_clock.advance(timedelta(hours=2))
    medflow.runtime.send_message("extra_docs", started["business_key"], {"docs": 1}, actor="applicant")
    assert medflow.queries.instance(started["id"])["status"] == "completed"
    fired = [e for e in medflow.queries.history(started["id"]) if e["action"] == "timer_fired"]
    assert len(fired) == 1 and fired[0]["element_id"] == "pw_hour" and fired[0]["actor"] == "engine"
    assert fired[0]["details"] == {"due_at": job["due_at"], "lateness_ms": 3_600_000, "during_step_of": "applicant"}
    with medflow.db.read() as session:
        stored = session.get(Job, job["id"])
        assert (stored.status, stored.lateness_ms) == ("done", 3_600_000)
    assert Worker(medflow, "w1").tick().fired == 0


def test_a_timer_fired_by_a_worker_is_recorded_once(medflow, sim_clock):
    started = medflow.runtime.start("faults_parallel_wait", {})
    sim_clock.advance(timedelta(hours=2))
    assert Worker(medflow, "w1").tick().fired == 1
    fired = [e for e in medflow.queries.history(started["id"]) if e["action"] == "timer_fired"]
    assert [(e["actor"], e["element_id"]) for e in fired] == [("w1", "pw_hour")]


def test_a_timer_fired_a_month_late_is_recorded_with_its_lateness(medflow, sim_clock):
    """Workers stopped for a month (or `medflow clock advance` by one in a demo): the lateness
    is over 2^31 ms, which a 32-bit column refused on PostgreSQL, so the timer never fired."""
    late = [medflow.runtime.start("faults_parallel_wait", {}) for _ in range(2)]
    sim_clock.advance(timedelta(days=40, hours=1))
    # One fired by a worker, one inside another command's step (the other place that records it).
    medflow.runtime.send_message("extra_docs", late[1]["business_key"], {"docs": 1}, actor="applicant")
    assert Worker(medflow, "w1").tick().fired == 1
    medflow.runtime.send_message("extra_docs", late[0]["business_key"], {"docs": 1}, actor="applicant")
    expected = int(timedelta(days=40).total_seconds() * 1000)
    for started in late:
        assert medflow.queries.instance(started["id"])["status"] == "completed"
        with medflow.db.read() as session:
            (job,) = session.query(Job).filter_by(instance_id=started["id"]).all()
        assert (job.status, job.lateness_ms) == ("done", expected)
