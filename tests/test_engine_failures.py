"""Failures: retries and incidents, caught BPMN errors, races, crashes, and long loops."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from engine.errors import Conflict
from engine.worker import Worker
from tests import engine_test_handlers as handlers


def test_handler_retry_then_incident_then_manual_retry(medflow, sim_clock):
    handlers.FLAKY_FAILURES["k1"] = 3  # fails the first try and both retries
    started = medflow.runtime.start("flaky_call", {"key": "k1"})
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "running"
    (retry,) = inst["jobs"]
    assert retry["kind"] == "retry"
    assert retry["due_at"] == (sim_clock.now() + timedelta(seconds=10)).isoformat()
    worker = Worker(medflow, "w1")
    sim_clock.advance(timedelta(seconds=11))
    assert worker.tick().fired == 1  # second attempt fails, next retry in 60 s
    sim_clock.advance(timedelta(seconds=61))
    assert worker.tick().fired == 1  # third attempt fails: retries exhausted
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "incident" and inst["jobs"] == []
    (incident,) = medflow.queries.incidents()
    assert incident["element_id"] == "call" and incident["handler"] == "test_flaky"
    assert "ConnectionError: реестр не отвечает (попытка 3)" in incident["error"]  # original text kept
    assert incident["attempts"] == 3
    medflow.runtime.retry_incident(incident["id"], "admin")
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed"
    assert done["data"]["answer"] == {"ok": True, "attempt": 1}
    assert medflow.queries.incidents() == []
    with pytest.raises(Conflict):
        medflow.runtime.retry_incident(incident["id"], "admin")


def test_bpmn_error_from_handler_takes_the_error_path(medflow):
    ok = medflow.runtime.start("caught_call", {"snils": "11223344595"})
    assert medflow.queries.instance(ok["id"])["status"] == "completed"
    caught = medflow.runtime.start("caught_call", {"snils": "00011122233"})
    inst = medflow.queries.instance(caught["id"])
    assert [t["element_id"] for t in inst["open_tasks"]] == ["manual_check"]
    assert inst["incidents"] == [] and inst["status"] == "running"
    actions = [(e["action"], e["new"]) for e in medflow.queries.history(caught["id"])]
    assert ("error_caught", "REGISTRY_MISMATCH") in actions


def test_two_threads_completing_the_same_task_exactly_one_wins(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete(user: str) -> None:
        barrier.wait()
        try:
            medflow.runtime.complete(task["id"], {"decision": "approve"}, user=user)
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc.message}")

    threads = [threading.Thread(target=complete, args=(u,)) for u in ("op1", "op2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "won"]
    assert "уже выполнена" in next(o for o in outcomes if o.startswith("conflict"))
    completions = [e for e in medflow.queries.history(key) if e["action"] == "task_completed"]
    assert len(completions) == 1
    assert handlers.CALLS.count(f"{medflow.queries.instance(key)['id']}:") == 0


def test_crash_between_load_and_commit_leaves_previous_state(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    before = medflow.queries.instance(key)
    history_before = medflow.queries.history(key)

    def crash(_row) -> None:
        raise SystemExit("power cut")

    medflow.store.before_commit = crash
    with pytest.raises(SystemExit):
        medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    medflow.store.before_commit = None
    after = medflow.queries.instance(key)
    assert after == before
    assert medflow.queries.history(key) == history_before
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(key)["status"] == "completed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_thousand_refusal_loops_progress_with_flat_state(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    sizes = []
    for i in range(1000):
        (task,) = medflow.queries.tasks(business_key=key)
        medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")
        medflow.runtime.send_message("resubmit", key, {"round": i}, actor="applicant")
        if i in (0, 999):
            sizes.append(medflow.queries.instance(key, with_data=False)["state_size"])
    (task,) = medflow.queries.tasks(business_key=key)
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    done = medflow.queries.instance(key)
    assert done["status"] == "completed" and done["data"]["round"] == 999
    assert sizes[1] <= sizes[0] * 1.1  # history is in the audit log, not in the state


def test_retry_policy_of_the_task_wins_over_the_default(medflow, sim_clock):
    handlers.FLAKY_FAILURES["k2"] = 5
    started = medflow.runtime.start("flaky_policy", {"key": "k2"})
    (retry,) = medflow.queries.instance(started["id"])["jobs"]
    assert retry["due_at"] == (sim_clock.now() + timedelta(seconds=5)).isoformat()  # backoff_base, not 10 s
    sim_clock.advance(timedelta(seconds=6))
    assert Worker(medflow, "w1").tick().fired == 1
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "incident" and inst["jobs"] == []  # retries="1": one retry, then an incident
    assert inst["incidents"][0]["attempts"] == 2
