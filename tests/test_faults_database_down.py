"""The database goes away for a while: a private PostgreSQL cluster is stopped and started again.

Commands fail with a database error the API can turn into 503 (never a half-written step), the
worker reports the outage and backs off instead of dying, and when the database is back everything
due fires exactly once. The shared cluster on port 5432 is never touched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from engine import worker as worker_module
from engine.bootstrap import MedFlow
from engine.clock import RealClock, install_clock
from engine.db import DatabaseUnavailable
from engine.definitions import collect_files
from engine.worker import Worker
from tests.conftest import DIAGRAMS, START, make_medflow
from tests.faults import pg_cluster
from tests.faults.facts import actions, audit_per_instance, instance_versions, jobs_by_status, table_counts
from tests.faults.interleave import Actor, Pause
from tests.faults.processes import cli_env, spawn, stop, stored_clock_medflow

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL server binaries not installed")]

UNAVAILABLE = (DatabaseUnavailable, OperationalError)
SURFACED: dict[str, str] = {}  # command → exception type, printed for the API's 503 mapping


@pytest.fixture(scope="module")
def cluster() -> Iterator[pg_cluster.PrivateCluster]:
    with pg_cluster.PrivateCluster() as private:
        yield private


@pytest.fixture
def medflow(cluster, sim_clock) -> Iterator[MedFlow]:
    if not cluster.is_running():
        cluster.start()
    url, drop = pg_cluster.fresh_database(cluster.url)
    mf = make_medflow(url, sim_clock)
    mf.definitions.deploy(collect_files([DIAGRAMS]))
    try:
        yield mf
    finally:
        if not cluster.is_running():
            cluster.start()
        mf.db.dispose()
        install_clock(RealClock())
        drop()


def _fails_unavailable(name: str, command) -> None:
    with pytest.raises(UNAVAILABLE) as caught:
        command()
    SURFACED[name] = type(caught.value).__name__


def test_commands_fail_clearly_while_down_and_nothing_is_half_written(medflow, cluster):
    key = medflow.runtime.start("review_loop", {"applicant_name": "Иванов"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    counts, versions = table_counts(medflow), instance_versions(medflow)
    cluster.stop()
    _fails_unavailable("start", lambda: medflow.runtime.start("review_loop", {"applicant_name": "Б"}))
    _fails_unavailable("claim", lambda: medflow.runtime.claim(task["id"], "op"))
    _fails_unavailable("complete", lambda: medflow.runtime.complete(task["id"], {"decision": "fix"}, "op"))
    _fails_unavailable("send_message", lambda: medflow.runtime.send_message("resubmit", key, {}, "a"))
    _fails_unavailable("queries.instance", lambda: medflow.queries.instance(key))
    _fails_unavailable("queries.tasks", lambda: medflow.queries.tasks(groups=["operators"]))
    _fails_unavailable("db.check", medflow.db.check)
    print("exceptions while the database is down:", SURFACED)
    cluster.start()
    assert table_counts(medflow) == counts and instance_versions(medflow) == versions
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")  # the pool reconnects by itself
    assert medflow.queries.instance(key)["status"] == "completed"


def test_a_step_cut_off_by_a_database_crash_leaves_the_previous_state(medflow, cluster):
    key = medflow.runtime.start("review_loop", {"applicant_name": "Иванов"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    counts, versions = table_counts(medflow), instance_versions(medflow)
    with Pause(medflow, "operator") as pause:
        op = Actor("operator", lambda: medflow.runtime.complete(task["id"], {"decision": "approve"}, "op")).begin()
        pause.wait_reached()  # state, projections and audit are written, not committed
        cluster.stop("immediate")  # the server crashes: no shutdown, recovery from the WAL at start
        pause.release()
        failed = op.result()
    assert isinstance(failed.error, UNAVAILABLE), failed
    cluster.start()
    assert table_counts(medflow) == counts and instance_versions(medflow) == versions
    assert actions(medflow, key)["task_completed"] == 0
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(key)["status"] == "completed"


class FakeMonotonic:
    """The worker's back-off clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_worker_reports_the_outage_backs_off_and_then_fires_everything_once(medflow, cluster, sim_clock,
                                                                             monkeypatch):
    ids = [medflow.runtime.start("wait_working_days", {"days": 1})["id"] for _ in range(10)]
    sim_clock.advance(timedelta(days=5))
    fake = FakeMonotonic()
    monkeypatch.setattr(worker_module, "time", fake)
    worker = Worker(medflow, "w-outage")
    claims: list[int] = []
    claim = medflow.runtime.claim_due_jobs
    monkeypatch.setattr(medflow.runtime, "claim_due_jobs", lambda *a, **k: claims.append(1) or claim(*a, **k))
    cluster.stop()
    backoffs = []
    for _ in range(3):
        result = worker.tick()  # must not raise: the scheduler would log and the CLI would die
        assert result.fired == 0 and result.errors and "база данных недоступна" in result.errors[0]
        backoffs.append(worker.backoff)
        attempts = len(claims)
        skipped = worker.tick()  # inside the back-off: the database is not even tried
        assert skipped.errors == [] and skipped.leased == 0 and len(claims) == attempts
        fake.now += worker.backoff + 0.1
    assert backoffs == [1.0, 2.0, 4.0]
    cluster.start()
    result = worker.tick()
    assert result.errors == [] and worker.backoff == 0.0
    assert audit_per_instance(medflow, "timer_fired", "wait_working_days") == dict.fromkeys(ids, 1)
    assert jobs_by_status(medflow, "wait_working_days") == {"done": len(ids)}


def test_worker_with_the_stored_simulated_clock_survives_the_outage(cluster):
    """`MEDFLOW_CLOCK=simulated` keeps the time in the database: the tick's clock sync reads it."""
    if not cluster.is_running():
        cluster.start()
    url, drop = pg_cluster.fresh_database(cluster.url)
    medflow = stored_clock_medflow(url)
    try:
        worker = Worker(medflow, "w-stored-clock")
        cluster.stop()
        result = worker.tick()
        assert result.errors and worker.backoff == 1.0
    finally:
        if not cluster.is_running():
            cluster.start()
        medflow.db.dispose()
        install_clock(RealClock())
        drop()


def test_the_worker_schedule_waits_out_its_backoff(medflow, cluster):
    """A worker polling every 0.1 s must not hammer a database that is down: after a failure it
    waits `backoff` (1 s, 2 s, …) before it tries again."""
    worker = Worker(medflow, "w-schedule")
    medflow.settings.raw.setdefault("worker", {})["poll_seconds"] = 0.1
    attempts: list[float] = []
    claim = medflow.runtime.claim_due_jobs

    def counted_claim(*args, **kwargs):
        attempts.append(time.monotonic())
        return claim(*args, **kwargs)

    medflow.runtime.claim_due_jobs = counted_claim  # type: ignore[method-assign]
    cluster.stop()
    scheduler = worker.scheduler(blocking=False)
    scheduler.start()
    try:
        time.sleep(2.0)  # the measured window: 20 polls without back-off, at most 2-3 with it
    finally:
        scheduler.shutdown(wait=True)
        cluster.start()
    assert len(attempts) <= 4, f"{len(attempts)} attempts in 2 s while the database was down"


def test_worker_process_outlives_the_outage_and_fires_what_became_due(cluster, tmp_path):
    """A real `python -m engine.cli worker` keeps running through a database outage and fires the
    timers that became due, once each, when the database is back."""
    if not cluster.is_running():
        cluster.start()
    url, drop = pg_cluster.fresh_database(cluster.url)
    medflow = stored_clock_medflow(url)
    log = tmp_path / "worker.log"
    worker = None
    try:
        medflow.clock.set(START)
        ids = [medflow.runtime.start("wait_working_days", {"days": 1})["id"] for _ in range(10)]
        worker = spawn(["worker"], cli_env(url), log=log)
        _wait_for(lambda: "запущен" in log.read_text(errors="replace"), worker, "the worker to start")
        cluster.stop()
        time.sleep(1.5)  # the outage: several polls of the worker meet a dead database
        assert worker.poll() is None, log.read_text()
        cluster.start()
        medflow.clock.set(START + timedelta(days=5))  # the worker reads the stored time each tick
        _wait_for(lambda: jobs_by_status(medflow, "wait_working_days") == {"done": len(ids)}, worker,
                  "the due timers to fire")
        assert worker.poll() is None
        assert audit_per_instance(medflow, "timer_fired", "wait_working_days") == dict.fromkeys(ids, 1)
    finally:
        if worker is not None:
            stop(worker)
        if not cluster.is_running():
            cluster.start()
        medflow.db.dispose()
        install_clock(RealClock())
        drop()


def _wait_for(condition, process, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the process exited ({process.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_web_api_answers_503_while_down_and_recovers(medflow, cluster):
    """The API maps the outage to 503 + Retry-After (never 500); /health stays up, /ready says no."""
    from argon2 import PasswordHasher

    from engine.accounts import Accounts
    from webui.app import create_app
    from webui.demo import seed_accounts

    accounts = Accounts(medflow.db, medflow.settings,
                        hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    seed_accounts(accounts)
    client = create_app(medflow, accounts, TESTING=True).test_client()
    supervisor = {"Authorization": f"Bearer {accounts.issue_token('supervisor', 'test')}"}
    assert client.get("/api/v1/instances", headers=supervisor).status_code == 200
    counts = table_counts(medflow)
    cluster.stop()
    for method, path, body in (("get", "/api/v1/instances", None),
                               ("post", "/api/v1/instances", {"process_key": "review_loop", "data": {}}),
                               ("post", "/api/v1/messages", {"name": "resubmit", "business_key": "ЗВ-2026-000001"})):
        response = getattr(client, method)(path, headers=supervisor, json=body)
        assert response.status_code == 503, (path, response.status_code, response.get_data(as_text=True)[:200])
        assert response.headers.get("Retry-After") and response.get_json()["error"] == "unavailable"
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503
    cluster.start()
    assert table_counts(medflow) == counts
    assert client.get("/ready").status_code == 200
    assert client.get("/api/v1/instances", headers=supervisor).status_code == 200
