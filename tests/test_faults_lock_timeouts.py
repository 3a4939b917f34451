"""PostgreSQL: a command does not wait without end for an application another transaction holds,
and a process stopped in the middle of a transaction does not hold applications forever."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from engine.bootstrap import MedFlow
from engine.definitions import collect_files
from engine.errors import Busy
from engine.worker import Worker
from tests.conftest import DIAGRAMS, make_medflow
from tests.faults.facts import table_counts

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def strict_medflow(database_url: str, sim_clock, **limits: float) -> MedFlow:  # type: ignore[no-untyped-def]
    # Schema and diagrams first, under the ordinary limits: on a loaded machine the set-up's DDL
    # once paused for over a second inside its transaction, and a 1 s idle limit cut it.
    ready = make_medflow(database_url, sim_clock)
    ready.definitions.deploy(collect_files([DIAGRAMS]))
    ready.db.dispose()
    return make_medflow(database_url, sim_clock, **{f"database.{k}": v for k, v in limits.items()})


@pytest.fixture
def medflow(database_url: str, sim_clock) -> Iterator[MedFlow]:  # type: ignore[no-untyped-def]
    # Only the lock limit: a CI machine under load once stalled a start for over a second between
    # two statements, and an idle-transaction limit that short cut an innocent transaction.
    mf = strict_medflow(database_url, sim_clock, lock_timeout_seconds=0.3)
    yield mf
    mf.db.dispose()


@pytest.fixture
def idle_limited(database_url: str, sim_clock) -> Iterator[MedFlow]:  # type: ignore[no-untyped-def]
    mf = strict_medflow(database_url, sim_clock, lock_timeout_seconds=0.3, idle_in_transaction_timeout_seconds=2)
    yield mf
    mf.db.dispose()


class Holder:
    """Another session that locks an application's row and keeps its transaction open."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.connection = self.engine.connect()

    def lock(self, instance_id: int) -> None:
        self.connection.execute(text("SELECT id FROM instances WHERE id = :i FOR UPDATE"), {"i": instance_id})

    def release(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


def test_a_command_on_a_held_application_gives_up_and_changes_nothing(medflow, database_url):
    started = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})
    (task,) = medflow.queries.instance(started["id"])["open_tasks"]
    before = table_counts(medflow)
    holder = Holder(database_url)
    try:
        holder.lock(started["id"])
        with pytest.raises(Busy) as busy:
            medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
        assert busy.value.http_status == 503 and "повторите" in busy.value.message
        with pytest.raises(Busy):
            medflow.runtime.cancel(started["id"], actor="supervisor", reason="тест")
        assert table_counts(medflow) == before
    finally:
        holder.release()
        holder.close()
    assert medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")["status"] == "completed"


def api_and_a_task(medflow: MedFlow) -> tuple[Any, dict[str, str], dict[str, Any], dict[str, Any]]:
    """A supervisor's API client and headers, an application waiting at a task, and the task."""
    from tests.web_harness import web_for

    web = web_for(medflow)
    started = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})
    (task,) = medflow.queries.instance(started["id"])["open_tasks"]
    return web.client(), web.token("supervisor"), started, task


def test_the_api_answers_503_busy_with_retry_after(medflow, database_url):
    client, supervisor, started, task = api_and_a_task(medflow)
    holder = Holder(database_url)
    try:
        holder.lock(started["id"])
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=supervisor,
                               json={"data": {"decision": "approve"}})
    finally:
        holder.release()
        holder.close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "busy" and response.get_json()["task_id"] == task["id"]
    assert medflow.queries.instance(started["id"])["open_tasks"] == [task]
    # Not only an application's row: a start waits for the number sequence another start holds.
    before = table_counts(medflow)
    holder = Holder(database_url)
    try:
        holder.connection.execute(text("SELECT * FROM sequences FOR UPDATE"))
        response = client.post("/api/v1/instances", headers=supervisor,
                               json={"process_key": "review_loop", "data": {"applicant_name": "Сидоров"}})
    finally:
        holder.release()
        holder.close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "busy" and "повторите" in response.get_json()["message"]
    assert table_counts(medflow) == before


def test_a_worker_skips_a_held_application_and_fires_it_later(medflow, database_url, sim_clock):
    from datetime import timedelta

    started = medflow.runtime.start("wait_working_days", {"days": 1})
    other = medflow.runtime.start("wait_working_days", {"days": 1})
    sim_clock.advance(timedelta(days=10))
    holder = Holder(database_url)
    try:
        holder.lock(started["id"])
        result = Worker(medflow, "w1").tick()
    finally:
        holder.release()
        holder.close()
    assert (result.fired, result.failed) == (1, 1)  # the free one fired; no back-off for the whole worker
    assert medflow.queries.instance(other["id"])["status"] == "completed"
    assert medflow.queries.instance(started["id"])["status"] == "running"
    later = Worker(medflow, "w2")
    later.lease = 0  # the first worker's lease on the job would otherwise wait for its expiry
    sim_clock.advance(timedelta(minutes=2))
    assert later.tick().fired == 1
    assert medflow.queries.instance(started["id"])["status"] == "completed"


def test_a_session_stopped_inside_a_transaction_is_cut_and_frees_the_application(idle_limited):
    """A handler hung on the network (here: a session that just stops) held the row for good."""
    medflow = idle_limited
    started = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})
    (task,) = medflow.queries.instance(started["id"])["open_tasks"]
    stuck = medflow.db.write_engine.connect()  # the engine's own settings: the 2 s idle limit applies
    stuck.execute(text("SELECT id FROM instances WHERE id = :i FOR UPDATE"), {"i": started["id"]})
    deadline = time.monotonic() + 30
    while True:  # PostgreSQL ends the idle transaction about two seconds later
        try:
            done = medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
            break
        except Busy:
            assert time.monotonic() < deadline, "the idle transaction was never cut"
    assert done["status"] == "completed"
    stuck.invalidate()
    stuck.close()


def test_the_cli_says_busy_and_changes_nothing(medflow, database_url):
    """`medflow start` waits for the number sequence another transaction holds, then gives up."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import TESTS

    medflow.runtime.start("review_loop", {"applicant_name": "Петров"})  # the sequence row exists
    before = table_counts(medflow)
    env = {**os.environ, "MEDFLOW_DATABASE_URL": database_url, "MEDFLOW_DATABASE_LOCK_TIMEOUT_SECONDS": "0.3",
           "MEDFLOW_CLOCK": "simulated", "MEDFLOW_PATHS_FORMS": str(TESTS / "forms"),
           "MEDFLOW_HANDLERS_MODULES": "[handlers, tests.engine_test_handlers]"}
    holder = Holder(database_url)
    try:
        holder.connection.execute(text("SELECT * FROM sequences FOR UPDATE"))
        done = subprocess.run([sys.executable, "-m", "engine.cli", "start", "review_loop", "--data",
                               '{"applicant_name": "Сидоров"}', "--json"], capture_output=True, text=True, env=env,
                              timeout=120)
    finally:
        holder.release()
        holder.close()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    answer = json.loads(done.stdout)
    assert answer["error"] == "busy" and "Ничего не изменено" in answer["message"]
    assert table_counts(medflow) == before
