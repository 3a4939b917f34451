"""Retrying the incidents of an outage as one: resolved, retried by the worker, full retries again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.incident_retries import IncidentFilter, IncidentRetries
from engine.worker import Worker
from tests import engine_test_handlers as handlers
from tests.conftest import DIAGRAMS, make_medflow


@pytest.fixture
def no_retries(database_url, sim_clock):  # type: ignore[no-untyped-def]
    """Retries exhausted at the first failure: an incident at once."""
    from engine.definitions import collect_files

    mf = make_medflow(database_url, sim_clock, **{"retry.delays": []})
    mf.definitions.deploy(collect_files([DIAGRAMS]))
    yield mf
    mf.db.dispose()


def _outage(medflow, monkeypatch, keys: list[str], process: str = "flaky_call",  # type: ignore[no-untyped-def]
            failures: int = 1) -> list[int]:
    ids = []
    for key in keys:
        monkeypatch.setitem(handlers.FLAKY_FAILURES, key, failures)
        ids.append(medflow.runtime.start(process, {"key": key})["id"])
    return ids


def test_an_outage_is_one_group_retried_at_a_rate_by_the_worker(no_retries, sim_clock, monkeypatch):
    medflow = no_retries
    ids = _outage(medflow, monkeypatch, ["a", "b", "c", "d"])
    (other,) = _outage(medflow, monkeypatch, ["e"], process="flaky_policy", failures=2)
    assert medflow.queries.instance(other)["status"] == "running"  # its own policy: one retry first
    Worker(medflow, "w0").tick()  # not due yet: nothing to fire
    sim_clock.advance(timedelta(seconds=6))
    assert Worker(medflow, "w0").tick().fired == 1  # its one retry fails: an incident too
    groups = medflow.queries.incident_groups()
    assert [(g["process_key"], g["element_id"], g["handler"], g["count"]) for g in groups] == [
        ("flaky_call", "call", "test_flaky", 4), ("flaky_policy", "call_once", "test_flaky", 1)]
    assert "реестр не отвечает" in groups[0]["error"]
    assert all(medflow.queries.instance(i)["status"] == "incident" for i in ids)

    now = sim_clock.now()
    result = medflow.runtime.retry_incidents(IncidentFilter(process_key="flaky_call"), "supervisor1", per_second=2)
    assert (result.scheduled, result.remaining) == (4, 0)
    assert (result.first_due_at, result.last_due_at) == (now, now + timedelta(seconds=1.5))
    assert [i["instance_id"] for i in medflow.queries.incidents()] == [other]  # the other group is left
    first = medflow.queries.instance(ids[0])
    assert first["status"] == "running" and [j["kind"] for j in first["jobs"]] == ["retry"]
    assert first["incidents"][0]["status"] == "resolved" and first["incidents"][0]["resolved_by"] == "supervisor1"
    assert first["next_due_at"] == now.isoformat()
    assert medflow.queries.instance(ids[3])["next_due_at"] == (now + timedelta(seconds=1.5)).isoformat()
    scheduled = [e for e in medflow.queries.history(ids[1]) if e["action"] == "incident_retry_scheduled"]
    assert [(e["actor"], e["element_id"], e["new"]) for e in scheduled] == [
        ("supervisor1", "call", (now + timedelta(seconds=0.5)).isoformat())]

    worker = Worker(medflow, "w1")
    sim_clock.advance(timedelta(seconds=0.1))
    assert worker.tick().fired == 1  # only the first is due: the registry is not hit by all at once
    sim_clock.advance(timedelta(seconds=2))
    assert worker.tick().fired == 3
    for instance_id in ids:
        done = medflow.queries.instance(instance_id)
        assert done["status"] == "completed" and done["next_due_at"] is None
        assert done["data"]["answer"] == {"ok": True, "attempt": 1}  # counted afresh, not as a 2nd attempt
    assert medflow.runtime.retry_incidents(IncidentFilter(process_key="flaky_call"), "s").scheduled == 0


def test_a_step_that_fails_again_gets_its_full_retries_before_a_new_incident(medflow, sim_clock, monkeypatch):
    monkeypatch.setitem(handlers.FLAKY_FAILURES, "k", 3)  # the first try and both retries (10 s, 60 s)
    started = medflow.runtime.start("flaky_call", {"key": "k"})
    worker = Worker(medflow, "w1")
    for seconds in (11, 61):
        sim_clock.advance(timedelta(seconds=seconds))
        worker.tick()
    assert medflow.queries.instance(started["id"])["status"] == "incident"
    monkeypatch.setitem(handlers.FLAKY_FAILURES, "k", 2)  # the registry is still down for two more calls
    assert medflow.runtime.retry_incidents(IncidentFilter(handler="test_flaky"), "s").scheduled == 1
    sim_clock.advance(timedelta(seconds=0.1))
    assert worker.tick().fired == 1  # fails: a retry in 10 s, not an incident at once
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "running" and [j["kind"] for j in inst["jobs"]] == ["retry"]
    assert [i["status"] for i in inst["incidents"]] == ["resolved"]
    sim_clock.advance(timedelta(seconds=11))
    worker.tick()
    sim_clock.advance(timedelta(seconds=61))
    worker.tick()
    assert medflow.queries.instance(started["id"])["data"]["answer"] == {"ok": True, "attempt": 3}


def test_only_what_the_person_saw_and_at_most_the_limit(no_retries, monkeypatch):
    medflow = no_retries
    ids = _outage(medflow, monkeypatch, ["a", "b", "c"])
    seen = medflow.queries.incident_groups()[0]["last_id"]
    later = _outage(medflow, monkeypatch, ["d"])  # opened after the page was shown
    result = medflow.runtime.retry_incidents(IncidentFilter(up_to_id=seen), "s", limit=2)
    assert (result.scheduled, result.remaining) == (2, 1)
    assert [i["instance_id"] for i in medflow.queries.incidents()] == [ids[2], later[0]]
    assert [i["instance_id"] for i in medflow.queries.incidents(where=IncidentFilter(up_to_id=seen))] == [ids[2]]
    assert medflow.runtime.retry_incidents(IncidentFilter(element_id="nowhere"), "s").scheduled == 0
    with pytest.raises(ValueError):
        medflow.runtime.retry_incidents(IncidentFilter(), "s", per_second=0)
    assert len(medflow.queries.incidents()) == 2  # the refused call changed nothing


def test_cancelling_an_application_closes_its_incident_and_no_retry_is_scheduled(no_retries, monkeypatch):
    medflow = no_retries
    cancelled, kept = _outage(medflow, monkeypatch, ["a", "b"])
    medflow.runtime.cancel(cancelled, "supervisor1", "дубликат")
    inst = medflow.queries.instance(cancelled)
    assert [(i["status"], i["resolved_by"]) for i in inst["incidents"]] == [("resolved", "supervisor1")]
    assert medflow.queries.open_incident_count() == 1
    assert medflow.runtime.retry_incidents(IncidentFilter(), "s").scheduled == 1
    assert medflow.queries.instance(cancelled)["jobs"] == []
    assert [j["kind"] for j in medflow.queries.instance(kept)["jobs"]] == ["retry"]


def test_a_group_retry_racing_single_retries_retries_each_step_once(no_retries, sim_clock, monkeypatch):
    """A supervisor retries incidents one by one while another retries their group: each step is
    retried by exactly one of them, nobody waits for ever (on PostgreSQL both lock the application
    first), and every application completes."""
    import threading

    from engine.errors import Conflict

    medflow = no_retries
    ids = _outage(medflow, monkeypatch, [f"k{i}" for i in range(60)])
    incidents = medflow.queries.incidents()
    single: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def one_by_one() -> None:
        barrier.wait()
        for incident in reversed(incidents):  # from the other end, so that the two meet
            try:
                medflow.runtime.retry_incident(incident["id"], "supervisor1")
                single.append(incident["id"])
            except Conflict:
                pass  # the group retry resolved it first
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    def as_a_group() -> None:
        barrier.wait()
        try:
            # Batches of 5: the two meet inside the group's run, not before or after it.
            grouped.append(IncidentRetries(medflow.store).schedule(IncidentFilter(process_key="flaky_call"),
                                                                   "supervisor2", batch=5))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    grouped: list = []
    threads = [threading.Thread(target=one_by_one), threading.Thread(target=as_a_group)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads), errors
    (result,) = grouped
    assert result.scheduled + len(single) == len(ids)  # each step once, by one of them
    resolved_by = {i["id"]: i["resolved_by"] for i in medflow.queries.incidents(status="resolved", limit=None)}
    assert {k for k, who in resolved_by.items() if who == "supervisor1"} == set(single)
    sim_clock.advance(timedelta(seconds=1))
    Worker(medflow, "w1").tick()
    for instance_id in ids:
        done = medflow.queries.instance(instance_id)
        assert done["status"] == "completed" and done["jobs"] == [], done
