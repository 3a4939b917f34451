"""Competing actions on one instance, each forced into its worst interleaving with real threads.

In the spirit of Camunda's concurrency tests: one command is paused inside its transaction just
before commit (lock held, projections written), the competitor is started and shown to wait for
the lock, then the first is released. Exactly one outcome may win, the loser gets a clear
Conflict / MessageNotMatched or is skipped, and the audit log tells one story. Each race also runs
unpaused from a Barrier a few times, to meet the interleavings the pause does not force.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from engine.errors import Conflict, MessageNotMatched
from engine.worker import Worker
from tests.faults.facts import actions
from tests.faults.interleave import Actor, Pause, wait_until_blocked

ROUNDS = 4  # unpaused barrier races per test: cheap, and each one may meet another interleaving


def _due_answer_task(medflow, sim_clock) -> tuple[dict, dict, int]:
    """An `answer_or_expire` instance whose 2-hour boundary timer is due and already leased."""
    started = medflow.runtime.start("answer_or_expire", {})
    inst = medflow.queries.instance(started["id"])
    (task,), (job,) = inst["open_tasks"], inst["jobs"]
    sim_clock.advance(timedelta(hours=3))
    # The worker leased the job a moment before the clerk pressed "done": the worst point.
    assert job["id"] in medflow.runtime.claim_due_jobs("w-timer", 100, 60)
    return started, task, job["id"]


def _assert_answered(medflow, started: dict) -> None:
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed" and done["portal_status"] is None  # the `answered` end
    counted = actions(medflow, started["id"])
    assert counted["task_completed"] == 1 and counted["timer_fired"] == 0
    assert counted["instance_completed"] == 1


def _assert_expired(medflow, started: dict) -> None:
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed" and done["portal_status"] == "Отказано в предоставлении услуги"
    counted = actions(medflow, started["id"])
    assert counted["timer_fired"] == 1 and counted["task_completed"] == 0
    assert medflow.queries.tasks(business_key=started["business_key"], status="cancelled")[0]["completed_by"] is None
    assert counted["instance_completed"] == 1


def test_complete_paused_before_commit_then_timer_fires_the_timer_is_skipped(medflow, sim_clock):
    started, task, job_id = _due_answer_task(medflow, sim_clock)
    with Pause(medflow, "clerk") as pause:
        clerk = Actor("clerk", lambda: medflow.runtime.complete(task["id"], {}, user="clerk")).begin()
        pause.wait_reached()
        timer = Actor("timer", lambda: medflow.runtime.fire_job(job_id, "w-timer")).begin()
        wait_until_blocked(medflow, timer)
        pause.release()
        assert clerk.result().error is None
        fired = timer.result()
    assert fired.error is None and fired.value is False  # skipped: the job was cancelled by the completion
    _assert_answered(medflow, started)
    assert medflow.queries.instance(started["id"])["jobs"] == []


def test_timer_paused_before_commit_then_complete_gets_a_conflict(medflow, sim_clock):
    started, task, job_id = _due_answer_task(medflow, sim_clock)
    with Pause(medflow, "timer") as pause:
        timer = Actor("timer", lambda: medflow.runtime.fire_job(job_id, "w-timer")).begin()
        pause.wait_reached()
        clerk = Actor("clerk", lambda: medflow.runtime.complete(task["id"], {}, user="clerk")).begin()
        wait_until_blocked(medflow, clerk)
        pause.release()
        assert timer.result().value is True
        lost = clerk.result()
    assert isinstance(lost.error, Conflict), lost
    assert "уже отменена" in lost.error.message  # the clerk is told what happened, in Russian
    _assert_expired(medflow, started)


def _race_complete_with_tick(medflow, sim_clock) -> None:
    started = medflow.runtime.start("answer_or_expire", {})
    (task,) = medflow.queries.instance(started["id"])["open_tasks"]
    sim_clock.advance(timedelta(hours=3))
    barrier = threading.Barrier(2)

    def clerk_action() -> object:
        barrier.wait()
        return medflow.runtime.complete(task["id"], {}, user="clerk")

    def worker_action() -> object:
        barrier.wait()
        return Worker(medflow, "w-race").tick()

    clerk, worker = Actor("clerk", clerk_action).begin(), Actor("worker", worker_action).begin()
    clerk_outcome, tick = clerk.result(), worker.result()
    assert tick.error is None and tick.value.failed == 0, tick
    if clerk_outcome.error is None:
        assert tick.value.fired == 0
        _assert_answered(medflow, started)
    else:
        assert isinstance(clerk_outcome.error, Conflict) and tick.value.fired == 1
        _assert_expired(medflow, started)


def test_complete_and_worker_tick_from_a_barrier_exactly_one_wins(medflow, sim_clock):
    for _ in range(ROUNDS):
        _race_complete_with_tick(medflow, sim_clock)


def _waiting_for_resubmission(medflow) -> str:
    key = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")
    assert medflow.queries.instance(key)["waiting_for_messages"] == ["resubmit"]
    return key


def _assert_one_resubmission(medflow, key: str, outcomes: list) -> None:
    delivered = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if o.error is not None]
    assert len(delivered) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0].error, MessageNotMatched), refused[0]
    unmatched_id = refused[0].error.details["unmatched_id"]
    assert [m["id"] for m in medflow.queries.unmatched_messages() if m["business_key"] == key] == [unmatched_id]
    inst = medflow.queries.instance(key)
    assert inst["waiting_for_messages"] == [] and [t["element_id"] for t in inst["open_tasks"]] == ["review"]
    counted = actions(medflow, key)
    assert counted["message_received"] == 1
    assert counted["task_created"] == 2  # the first review and exactly one new round


def test_two_resubmissions_one_paused_the_other_is_reported_unmatched(medflow):
    key = _waiting_for_resubmission(medflow)
    with Pause(medflow, "first") as pause:
        first = Actor("first", lambda: medflow.runtime.send_message("resubmit", key, {"n": 1}, "applicant")).begin()
        pause.wait_reached()
        second = Actor("second", lambda: medflow.runtime.send_message("resubmit", key, {"n": 2}, "applicant")).begin()
        wait_until_blocked(medflow, second)
        pause.release()
        outcomes = [first.result(), second.result()]
    assert outcomes[0].error is None
    _assert_one_resubmission(medflow, key, outcomes)
    assert medflow.queries.instance(key)["data"]["n"] == 1  # the winner's payload, not a mix


def _race_two_resubmissions(medflow) -> None:
    key = _waiting_for_resubmission(medflow)
    barrier = threading.Barrier(2)

    def send(n: int) -> object:
        barrier.wait()
        return medflow.runtime.send_message("resubmit", key, {"n": n}, "applicant")

    actors = [Actor(f"applicant-{n}", lambda n=n: send(n)).begin() for n in (1, 2)]
    _assert_one_resubmission(medflow, key, [a.result() for a in actors])


def test_two_resubmissions_from_a_barrier_are_never_both_delivered(medflow):
    for _ in range(ROUNDS):
        _race_two_resubmissions(medflow)


def test_message_waits_for_a_slow_timer_step_and_is_then_applied(medflow, sim_clock):
    started = medflow.runtime.start("faults_parallel_wait", {})
    key = started["business_key"]
    sim_clock.advance(timedelta(hours=2))
    (job_id,) = medflow.runtime.claim_due_jobs("w-slow", 100, 60)
    with Pause(medflow, "timer") as pause:
        timer = Actor("timer", lambda: medflow.runtime.fire_job(job_id, "w-slow")).begin()
        pause.wait_reached()
        sender = Actor("sender", lambda: medflow.runtime.send_message("extra_docs", key, {"docs": 3}, "applicant"))
        sender.begin()
        wait_until_blocked(medflow, sender)
        assert sender.is_alive()  # still waiting while the timer step holds the instance
        pause.release()
        assert timer.result().value is True
        delivered = sender.result()
    assert delivered.error is None and delivered.value["status"] == "completed", delivered
    done = medflow.queries.instance(key)
    assert done["data"]["docs"] == 3 and done["data"]["hour_passed"] is True
    counted = actions(medflow, key)
    assert counted["timer_fired"] == 1 and counted["message_received"] == 1 and counted["instance_completed"] == 1
    assert medflow.queries.unmatched_messages() == []


def test_message_during_the_step_that_opens_the_wait_is_applied_or_cleanly_refused(medflow):
    """SQLite serializes writers at BEGIN, so the message waits and is applied; PostgreSQL looks the
    subscription up without a lock, does not see the uncommitted one and refuses at once (the
    message is kept as unmatched). Both are consistent; neither loses the operator's step."""
    key = medflow.runtime.start("review_loop", {"applicant_name": "Сидоров"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    with Pause(medflow, "operator") as pause:
        op = Actor("operator", lambda: medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")).begin()
        pause.wait_reached()
        sender = Actor("sender", lambda: medflow.runtime.send_message("resubmit", key, {"n": 1}, "applicant")).begin()
        if medflow.db.is_sqlite:
            wait_until_blocked(medflow, sender)
            pause.release()
            outcome = sender.result()
        else:
            outcome = sender.result()  # it does not wait: nothing it reads is locked
            pause.release()
        assert op.result().error is None
    inst = medflow.queries.instance(key)
    counted = actions(medflow, key)
    if medflow.db.is_sqlite:
        assert outcome.error is None and counted["message_received"] == 1
        assert inst["waiting_for_messages"] == [] and [t["element_id"] for t in inst["open_tasks"]] == ["review"]
    else:
        assert isinstance(outcome.error, MessageNotMatched), outcome
        assert counted["message_received"] == 0 and inst["waiting_for_messages"] == ["resubmit"]
        assert [m["business_key"] for m in medflow.queries.unmatched_messages()] == [key]
    assert counted["task_completed"] == 1


def test_two_operators_paused_completion_the_second_is_told_who_won(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    with Pause(medflow, "op1") as pause:
        first = Actor("op1", lambda: medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op1")).begin()
        pause.wait_reached()
        second = Actor("op2", lambda: medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op2")).begin()
        wait_until_blocked(medflow, second)
        pause.release()
        assert first.result().error is None
        lost = second.result()
    assert isinstance(lost.error, Conflict) and "уже выполнена: op1" in lost.error.message
    assert actions(medflow, key)["task_completed"] == 1
    assert medflow.queries.instance(key)["status"] == "completed"  # op1's "approve" path, not op2's "fix"
