"""Two workers claiming the same due timers — threads on both databases, OS processes on PostgreSQL.

Every timer must fire exactly once: one `timer_fired` audit event and one `done` job row per
instance, none left waiting, whatever the interleaving of the leases.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from engine.clock import RealClock, install_clock
from engine.definitions import collect_files
from engine.errors import StateUnreadable
from engine.models import Instance, Job
from engine.worker import Worker
from tests.conftest import DIAGRAMS, START, _fresh_postgres, make_medflow
from tests.faults.facts import audit_per_instance, instances_by_status, jobs_by_status
from tests.faults.interleave import Actor, Pause, wait_until_blocked
from tests.faults.processes import cli_env, open_gate, spawn, stored_clock_medflow

PROCESS = "wait_working_days"


def _start_due(medflow, count: int) -> list[int]:
    return [medflow.runtime.start(PROCESS, {"days": 1})["id"] for _ in range(count)]


def _assert_each_fired_once(medflow, ids: list[int]) -> None:
    fired = audit_per_instance(medflow, "timer_fired", PROCESS)
    assert sorted(fired) == sorted(ids), "an instance's timer never fired"
    assert set(fired.values()) == {1}, {i: n for i, n in fired.items() if n != 1}
    assert jobs_by_status(medflow, PROCESS) == {"done": len(ids)}
    assert instances_by_status(medflow, PROCESS) == {"completed": len(ids)}


def test_two_worker_threads_from_a_barrier_fire_each_timer_once(medflow, sim_clock):
    ids = _start_due(medflow, 40)
    sim_clock.advance(timedelta(days=5))
    barrier = threading.Barrier(2)
    workers = [Worker(medflow, f"w{n}") for n in (1, 2)]
    for worker in workers:
        worker.batch = 3  # many small leases, so the two interleave all through the run

    def tick(worker: Worker) -> object:
        barrier.wait()
        return worker.tick()

    actors = [Actor(w.worker_id, lambda w=w: tick(w)).begin() for w in workers]
    results = [a.result() for a in actors]
    assert all(r.error is None and r.value.failed == 0 and not r.value.errors for r in results), results
    assert sum(r.value.fired for r in results) >= len(ids)  # + start timers of the shared diagrams
    _assert_each_fired_once(medflow, ids)


def test_lease_expires_while_the_first_worker_is_still_firing(medflow, sim_clock):
    """Worker 1 leased the job and is paused just before commit; its lease runs out, worker 2
    leases and fires the same job. Worker 2 must wait for the instance and then skip it."""
    (instance_id,) = _start_due(medflow, 1)
    (job,) = medflow.queries.instance(instance_id)["jobs"]
    sim_clock.advance(timedelta(days=5))
    assert job["id"] in medflow.runtime.claim_due_jobs("w1", 100, 60)
    with Pause(medflow, "w1") as pause:
        first = Actor("w1", lambda: medflow.runtime.fire_job(job["id"], "w1")).begin()
        pause.wait_reached()
        sim_clock.advance(timedelta(seconds=61))  # the lease of w1 is over
        # PostgreSQL: the job row is locked by w1, so SKIP LOCKED leaves it out of w2's lease.
        # SQLite: w2's lease transaction waits for w1's BEGIN IMMEDIATE; either way w2 fires it
        # directly too, as a worker that leased it a moment before w1 updated it would.
        second = Actor("w2", lambda: medflow.runtime.fire_job(job["id"], "w2")).begin()
        wait_until_blocked(medflow, second)
        pause.release()
        assert first.result().value is True
        assert second.result().value is False
    _assert_each_fired_once(medflow, [instance_id])
    (fired,) = [e for e in medflow.queries.history(instance_id) if e["action"] == "timer_fired"]
    assert fired["actor"] == "w1"


@pytest.mark.postgres
def test_two_worker_processes_fire_each_timer_once(postgres_server_url, tmp_path):
    url, drop = _fresh_postgres(postgres_server_url)
    medflow = stored_clock_medflow(url)
    try:
        medflow.clock.set(START)
        ids = _start_due(medflow, 80)
        medflow.clock.set(START + timedelta(days=5))
        env = cli_env(url, worker_batch_size="4")
        gate = tmp_path / "gate"
        processes = [spawn(["worker", "--once", "--json"], env, gate=gate) for _ in range(2)]
        open_gate(gate, processes)
        outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        results = [json.loads(out[out.index("{"):]) for out in outputs]
        assert all(r["failed"] == 0 and r["errors"] == [] for r in results), results
        assert sum(r["fired"] for r in results) >= len(ids)
        _assert_each_fired_once(medflow, ids)
    finally:
        medflow.db.dispose()
        install_clock(RealClock())
        drop()


def _commits_during(medflow, action) -> tuple[object, int]:
    commits = []
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(medflow.db.write_engine, "commit", listener)
    try:
        return action(), len(commits)
    finally:
        event.remove(medflow.db.write_engine, "commit", listener)


def test_due_timers_fire_a_batch_per_transaction(medflow, sim_clock, monkeypatch):
    ids = _start_due(medflow, 10)
    sim_clock.advance(timedelta(days=5))
    monkeypatch.setattr(medflow, "periodic_jobs", [])  # they commit work of their own
    worker = Worker(medflow, "w1")
    worker.fire_batch = 4
    result, commits = _commits_during(medflow, worker.tick)
    assert result.failed == 0 and not result.errors, result
    _assert_each_fired_once(medflow, ids)
    # One lease, then ⌈jobs / 4⌉ batches (the shared diagrams' start timers are due too), then the
    # worker's first heartbeat.
    assert commits == 1 + -(-result.leased // 4) + 1, (commits, result)


def test_an_idle_look_for_due_jobs_takes_no_sqlite_write_lock(tmp_path, sim_clock, monkeypatch):
    medflow = make_medflow(f"sqlite:///{tmp_path / 'idle.db'}", sim_clock)
    try:
        medflow.definitions.deploy(collect_files([DIAGRAMS]))
        ids = _start_due(medflow, 2)
        monkeypatch.setattr(medflow, "periodic_jobs", [])  # they commit work of their own
        worker = Worker(medflow, "w1")
        sim_clock.advance(timedelta(days=5))
        result, commits = _commits_during(medflow, worker.tick)
        assert result.fired >= 2 and commits >= 2, (result, commits)  # a due job is still leased and fired
        _assert_each_fired_once(medflow, ids)
        result, commits = _commits_during(medflow, worker.tick)
        assert (result.leased, commits) == (0, 0), result
    finally:
        medflow.db.dispose()


def test_a_broken_instance_in_a_batch_costs_the_others_nothing(medflow, sim_clock):
    ids = _start_due(medflow, 6)
    broken = ids[2]
    with medflow.db.write() as session:  # a state no loader can read: its fire must fail
        session.execute(update(Instance).where(Instance.id == broken).values(state="{"))
    medflow.store.cache.resize(0)  # as after a restart: every state is read from the database
    sim_clock.advance(timedelta(days=5))
    result = Worker(medflow, "w1").tick()
    assert result.failed == 1 and len(result.errors) == 1, result
    with medflow.db.read() as session:
        broken_job = session.execute(select(Job.id, Job.status).where(Job.instance_id == broken)).one()
    assert f"задание {broken_job.id}" in result.errors[0] and "повреждено" in result.errors[0]
    with pytest.raises(StateUnreadable) as unreadable:  # a reader is told the same, not a parser's error
        medflow.queries.instance(broken)
    assert unreadable.value.details["instance_id"] == broken
    assert broken_job.status == "waiting"  # leased: taken again when the lease runs out
    fine = [i for i in ids if i != broken]
    assert sorted(audit_per_instance(medflow, "timer_fired", PROCESS)) == fine
    assert instances_by_status(medflow, PROCESS) == {"completed": 5, "running": 1}


def test_two_due_jobs_of_one_instance_in_a_batch_fire_it_once(medflow, sim_clock):
    """A second job row for the same timer (as a retried lease could leave): the batch fires the
    first, then reads the second again under the lock and finds it cancelled with the instance."""
    (instance_id,) = _start_due(medflow, 1)
    with medflow.db.write() as session:
        job = session.scalars(select(Job).where(Job.instance_id == instance_id)).one()
        twin = Job(**{c.key: getattr(job, c.key) for c in Job.__table__.columns if c.key != "id"})
        session.add(twin)
        session.flush()
        job_ids = [job.id, twin.id]
    sim_clock.advance(timedelta(days=5))
    assert medflow.runtime.fire_jobs(job_ids, "w1") == 1
    assert audit_per_instance(medflow, "timer_fired", PROCESS) == {instance_id: 1}
    with medflow.db.read() as session:
        statuses = sorted(session.scalars(select(Job.status).where(Job.id.in_(job_ids))))
    assert statuses == ["cancelled", "done"]
