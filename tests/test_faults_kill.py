"""`kill -9` of the worker at random moments while it fires hundreds of due timers (PostgreSQL).

A real `python -m engine.cli worker` process is started, SIGKILLed while it works, and restarted
until everything is done. Afterwards every instance has completed, each timer fired exactly once
(one `timer_fired` event and one `done` job per instance) and no job is left waiting. The
simulated clock is stored in the database; leases run on it, so after each kill the test moves it
past the lease — the time that would pass in production before another worker takes over.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import MedFlow
from engine.clock import RealClock, install_clock
from tests.conftest import START, _fresh_postgres
from tests.faults.facts import audit_per_instance, instances_by_status, jobs_by_status
from tests.faults.pg_cluster import free_port
from tests.faults.processes import cli_env, kill_hard, spawn, stop, stored_clock_medflow
from tests.faults.soak import require_soak

PROCESS = "wait_working_days"
# Seconds per instance for the whole run: a hang fails the test instead of blocking `make test`.
DEADLINE_PER_INSTANCE = 0.5


def _done(medflow: MedFlow) -> int:
    return jobs_by_status(medflow, PROCESS).get("done", 0)


def _wait_for_progress(medflow: MedFlow, worker, after: int, deadline: float) -> int:
    """Poll until the worker has fired more than ``after`` timers (it started working)."""
    while (done := _done(medflow)) <= after:
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited by itself ({worker.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError(f"no progress: {done} timers done")
        time.sleep(0.005)
    return done


def _command(kind: str) -> list[str]:
    # `serve` runs the same timer tick in a background scheduler next to the web server.
    return ["worker"] if kind == "worker" else ["serve", "--port", str(free_port())]


def run_kill_loop(medflow: MedFlow, url: str, tmp_path: Path, instances: int, kills: int, seed: int,
                  kind: str = "worker") -> dict:
    rng = random.Random(seed)
    deadline = time.monotonic() + 60 + DEADLINE_PER_INSTANCE * instances
    medflow.clock.set(START)
    ids = [medflow.runtime.start(PROCESS, {"days": 1})["id"] for _ in range(instances)]
    medflow.clock.set(START + timedelta(days=5))  # every timer is due
    env = cli_env(url)
    log = tmp_path / "worker.log"
    killed_mid_work = 0
    for round_no in range(kills):
        worker = spawn(_command(kind), env, log=log)
        try:
            if round_no == 0:
                kill_hard(worker)  # killed while still starting up: before any lease
                continue
            before = _done(medflow)
            if before >= instances:
                break
            # The random moment: once a random number of the remaining timers (at most half) has
            # fired — a random sleep let a fast machine finish them all before the kill came.
            target = before + rng.randint(1, max(1, (instances - before) // 2))
            _wait_for_progress(medflow, worker, target - 1, deadline)
        finally:
            kill_hard(worker)
        done = _done(medflow)
        killed_mid_work += done < instances
        print(f"kill {round_no + 1}: {done}/{instances} timers done")
        medflow.clock.advance(timedelta(seconds=5))  # past the 2 s lease of the killed worker
    worker = spawn(_command(kind), env, log=log)
    try:
        while jobs_by_status(medflow, PROCESS).get("waiting", 0):
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not finished: {jobs_by_status(medflow, PROCESS)}"
            time.sleep(0.05)
    finally:
        stop(worker)
    return {"ids": ids, "killed_mid_work": killed_mid_work, "log": log}


def assert_all_fired_once(medflow: MedFlow, ids: list[int]) -> None:
    assert instances_by_status(medflow, PROCESS) == {"completed": len(ids)}
    fired = audit_per_instance(medflow, "timer_fired", PROCESS)
    assert sorted(fired) == sorted(ids)
    assert {i: n for i, n in fired.items() if n != 1} == {}, "a timer fired twice"
    assert jobs_by_status(medflow, PROCESS) == {"done": len(ids)}
    assert audit_per_instance(medflow, "instance_completed", PROCESS) == dict.fromkeys(ids, 1)
    assert medflow.queries.incidents() == []


def _kill_test(postgres_server_url: str, tmp_path: Path, instances: int, kills: int, kind: str = "worker") -> None:
    seed = int(os.environ.get("MEDFLOW_FAULTS_SEED", random.randrange(1_000_000)))
    print(f"kill -9 loop of `{kind}`: seed {seed} (MEDFLOW_FAULTS_SEED={seed} repeats it)")
    url, drop = _fresh_postgres(postgres_server_url)
    medflow = stored_clock_medflow(url)
    try:
        run = run_kill_loop(medflow, url, tmp_path, instances, kills, seed, kind)
        assert run["killed_mid_work"] >= 1, "no kill hit the worker while it was firing timers"
        assert_all_fired_once(medflow, run["ids"])
        assert "Traceback" not in run["log"].read_text()
    finally:
        medflow.db.dispose()
        install_clock(RealClock())
        drop()


@pytest.mark.postgres
def test_worker_killed_at_random_moments_every_timer_fires_once(postgres_server_url, tmp_path):
    _kill_test(postgres_server_url, tmp_path, instances=200, kills=5)


@pytest.mark.postgres
def test_serve_killed_at_random_moments_every_timer_fires_once(postgres_server_url, tmp_path):
    _kill_test(postgres_server_url, tmp_path, instances=100, kills=4, kind="serve")


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.postgres
def test_soak_worker_killed_many_times_with_a_thousand_instances(postgres_server_url, tmp_path, request):
    require_soak(request)
    _kill_test(postgres_server_url, tmp_path, instances=1000, kills=20)
