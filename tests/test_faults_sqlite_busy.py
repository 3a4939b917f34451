"""SQLite: another process holding the database's one write lock past
``database.lock_timeout_seconds`` makes a command answer ``busy`` and a worker try again at its next
tick — not wait 30 s, and not back off as if the database were gone."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from engine.bootstrap import MedFlow
from engine.db import is_lock_timeout
from engine.definitions import collect_files
from engine.errors import Busy
from engine.worker import Worker
from tests.conftest import DIAGRAMS, make_medflow
from tests.faults.facts import table_counts
from tests.test_faults_lock_timeouts import api_and_a_task

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def medflow(database_url: str, sim_clock) -> Iterator[MedFlow]:  # type: ignore[no-untyped-def]
    mf = make_medflow(database_url, sim_clock, **{"database.lock_timeout_seconds": 0.3})
    mf.definitions.deploy(collect_files([DIAGRAMS]))
    yield mf
    mf.db.dispose()


class WriteLock:
    """Another process's connection inside a write transaction (a long import, a `sqlite3` shell)."""

    def __init__(self, url: str) -> None:
        self.connection = sqlite3.connect(make_url(url).database, isolation_level=None)

    def __enter__(self) -> WriteLock:
        self.connection.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


def test_a_command_gives_up_after_the_lock_timeout_and_changes_nothing(medflow, database_url):
    started = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})
    (task,) = medflow.queries.instance(started["id"])["open_tasks"]
    before = table_counts(medflow)
    with WriteLock(database_url):
        waited = time.monotonic()
        with pytest.raises(Busy) as busy:
            medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
        assert time.monotonic() - waited < 5  # the setting's 0.3 s, not SQLite's former 30
        assert busy.value.http_status == 503 and "повторите" in busy.value.message
        # A start holds no application yet: the layers above (API, CLI) call this one busy too.
        with pytest.raises(OperationalError) as held:
            medflow.runtime.start("review_loop", {"applicant_name": "Сидоров"})
        assert is_lock_timeout(held.value)
        assert table_counts(medflow) == before  # reads go on under the writer (WAL)
    assert medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")["status"] == "completed"


def test_the_api_answers_503_busy_with_retry_after(medflow, database_url):
    client, supervisor, started, task = api_and_a_task(medflow)
    before = table_counts(medflow)
    with WriteLock(database_url):
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=supervisor,
                               json={"data": {"decision": "approve"}})
        started_too = client.post("/api/v1/instances", headers=supervisor,
                                  json={"process_key": "review_loop", "data": {"applicant_name": "Сидоров"}})
    for answer in (response, started_too):
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        assert answer.get_json()["error"] == "busy" and "повторите" in answer.get_json()["message"]
    assert table_counts(medflow) == before
    assert medflow.queries.instance(started["id"])["open_tasks"] == [task]


def test_a_worker_tries_again_at_the_next_tick_without_backing_off(medflow, database_url, sim_clock):
    ids = [medflow.runtime.start("wait_working_days", {"days": 1})["id"] for _ in range(3)]
    sim_clock.advance(timedelta(days=10))
    worker = Worker(medflow, "w-busy")
    with WriteLock(database_url):
        held = worker.tick()
    assert held.fired == 0 and held.errors and "занята" in held.errors[0]
    assert worker.backoff == 0.0  # an outage would have set 1 s and skipped the next tick
    after = worker.tick()
    assert after.fired == len(ids) and after.errors == []
    assert {medflow.queries.instance(i)["status"] for i in ids} == {"completed"}
