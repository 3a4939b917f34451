"""Two workers claiming the same due timers — threads on both databases, OS processes on PostgreSQL.

Every timer must fire exactly once: one `timer_fired` audit event and one `done` job row per
instance, none left waiting, whatever the interleaving of the leases.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from engine.clock import RealClock, install_clock
from engine.worker import Worker
from tests.conftest import START, _fresh_postgres
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
