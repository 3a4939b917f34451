"""Substitution (замещение): a deputy works an absent operator's queues and tasks for a period,
on both databases; every refused substitution names its field and saves nothing."""

from __future__ import annotations

import contextlib
import threading
from datetime import date, timedelta

import pytest

from engine.accounts import Accounts
from engine.errors import Conflict, ValidationFailed
from engine.substitutions import Substitutions

# START in tests/conftest.py is Thursday 30.04.2026, 09:00 UTC (12:00 in Moscow).
TODAY = date(2026, 4, 30)


@pytest.fixture
def staff(medflow):  # type: ignore[no-untyped-def]
    accounts = Accounts(medflow.db, medflow.settings)
    for name, role, groups in (("petrov", "operator", ["operators"]), ("sidorov", "operator", ["support"]),
                               ("kozlov", "operator", ["operators"]), ("boss", "supervisor", []),
                               ("ivanova", "applicant", [])):
        accounts.create(name, "пароль-для-теста-1", name.title(), role=role, groups=groups)
    return medflow


def _review_task(medflow) -> str:  # type: ignore[no-untyped-def]
    (task,) = medflow.runtime.start("review_loop", {"applicant_name": "А"})["open_tasks"]
    return task["id"]


def test_a_deputy_works_the_absent_operators_queue_and_tasks_for_the_period(staff):
    medflow = staff
    subs = medflow.substitutions
    claimed, free = _review_task(medflow), _review_task(medflow)
    medflow.runtime.claim(claimed, "petrov")
    assert subs.scope("sidorov", ["support"]).usernames == ("sidorov",)

    added = subs.add("petrov", "sidorov", "30.04.2026", "2026-05-12", "отпуск", actor="boss")
    assert (added.starts_on, added.ends_on, added.active_on(TODAY)) == (TODAY, date(2026, 5, 12), True)
    scope = subs.scope("sidorov", ["support"])
    assert (scope.usernames, scope.groups, scope.standing_in_for) == (
        ("sidorov", "petrov"), ("support", "operators"), ("petrov",))
    page = medflow.queries.tasks(groups=list(scope.groups), assignee=list(scope.usernames))
    assert {t["id"] for t in page} == {claimed, free}
    # Only the deputy: another operator of the group still may not take petrov's task.
    with pytest.raises(Conflict, match="petrov"):
        medflow.runtime.complete(claimed, {"decision": "approve"}, user="kozlov")

    medflow.runtime.complete(claimed, {"decision": "approve"}, user="sidorov")
    done = medflow.queries.task(claimed)
    assert (done["status"], done["completed_by"]) == ("completed", "sidorov")
    (event,) = [e for e in medflow.queries.history(done["business_key"]) if e["action"] == "task_completed"]
    assert (event["actor"], event["details"]["acting_for"]) == ("sidorov", "petrov")


def test_a_deputy_takes_over_and_releases_the_absent_operators_task(staff):
    medflow = staff
    first, second = _review_task(medflow), _review_task(medflow)
    medflow.runtime.claim(first, "petrov")
    medflow.runtime.claim(second, "petrov")
    medflow.substitutions.add("petrov", "sidorov", TODAY, TODAY + timedelta(days=3), actor="boss")
    with pytest.raises(Conflict):
        medflow.runtime.claim(first, "kozlov")
    medflow.runtime.claim(first, "sidorov")
    assert medflow.queries.task(first)["assignee"] == "sidorov"
    claims = [e for e in medflow.queries.history(medflow.queries.task(first)["business_key"])
              if e["action"] == "task_claimed"]
    assert [(e["actor"], e["old"], e["new"]) for e in claims] == [("petrov", None, "petrov"), ("sidorov", "petrov", "sidorov")]
    medflow.runtime.unclaim(second, "sidorov")  # back to the group's queue
    assert medflow.queries.task(second)["assignee"] is None


def test_nothing_is_allowed_outside_the_period_or_after_cancelling(staff, sim_clock):
    medflow = staff
    subs = medflow.substitutions
    task = _review_task(medflow)
    medflow.runtime.claim(task, "petrov")
    planned = subs.add("petrov", "sidorov", TODAY + timedelta(days=1), TODAY + timedelta(days=2), actor="boss")
    with pytest.raises(Conflict):  # not started yet
        medflow.runtime.complete(task, {"decision": "approve"}, user="sidorov")
    assert subs.scope("sidorov", []).standing_in_for == ()
    sim_clock.advance(timedelta(days=1))
    assert subs.scope("sidorov", []).standing_in_for == ("petrov",)
    subs.cancel(planned.id, actor="petrov")
    assert subs.scope("sidorov", []).standing_in_for == ()
    with pytest.raises(Conflict):
        medflow.runtime.complete(task, {"decision": "approve"}, user="sidorov")
    with pytest.raises(Conflict, match="уже отменено"):
        subs.cancel(planned.id, actor="boss")
    subs.add("petrov", "sidorov", TODAY + timedelta(days=1), TODAY + timedelta(days=1), actor="boss")
    sim_clock.advance(timedelta(days=1))  # the last day is over (Moscow midnight has passed)
    with pytest.raises(Conflict):
        medflow.runtime.complete(task, {"decision": "approve"}, user="sidorov")
    assert subs.current() == []
    security = [e["action"] for e in Accounts(medflow.db, medflow.settings).security_events()]
    assert security.count("substitution_added") == 2 and security.count("substitution_cancelled") == 1


@pytest.mark.parametrize(("absent", "deputy", "starts", "ends", "reason", "field", "text"), [
    ("petrov", "petrov", "2026-05-01", "2026-05-02", "", "deputy", "самого себя"),
    ("petrov", "nobody", "2026-05-01", "2026-05-02", "", "deputy", "нет действующего сотрудника nobody"),
    ("ivanova", "sidorov", "2026-05-01", "2026-05-02", "", "absent", "не работает с задачами"),
    ("", "sidorov", "2026-05-01", "2026-05-02", "", "absent", "укажите сотрудника"),
    ("petrov", "sidorov", "2026-05-03", "2026-05-02", "", "ends_on", "раньше начала"),
    ("petrov", "sidorov", "2026-04-01", "2026-04-29", "", "ends_on", "уже закончился"),
    ("petrov", "sidorov", "2026-05-01", "2027-06-01", "", "ends_on", "не дольше 366"),
    ("petrov", "sidorov", "1 мая", "2026-05-02", "", "starts_on", "ДД.ММ.ГГГГ"),
    ("petrov", "sidorov", "2026-05-01", "2026-05-02", "я" * 301, "reason", "не длиннее 300"),
])
def test_a_refused_substitution_names_its_field_and_saves_nothing(staff, absent, deputy, starts, ends, reason,
                                                                  field, text):
    with pytest.raises(ValidationFailed) as refused:
        staff.substitutions.add(absent, deputy, starts, ends, reason, actor="boss")
    assert any(e["field"] == field and text in e["message"] for e in refused.value.errors), refused.value.errors
    assert staff.substitutions.current() == []


def test_one_deputy_at_a_time_and_no_chains(staff):
    subs = staff.substitutions
    subs.add("petrov", "sidorov", "2026-05-04", "2026-05-08", actor="boss")
    refusals = {
        ("petrov", "kozlov", "2026-05-08", "2026-05-10"): ("starts_on", "уже есть замещение на 04.05.2026–08.05.2026"),
        ("sidorov", "kozlov", "2026-05-01", "2026-05-04"): ("absent", "sidorov замещает petrov"),
        ("kozlov", "petrov", "2026-05-06", "2026-05-20"): ("deputy", "petrov сам отсутствует"),
    }
    for (absent, deputy, starts, ends), (field, text) in refusals.items():
        with pytest.raises(ValidationFailed) as refused:
            subs.add(absent, deputy, starts, ends, actor="boss")
        assert [(e["field"], text in e["message"]) for e in refused.value.errors] == [(field, True)]
    assert len(subs.current()) == 1
    subs.add("petrov", "kozlov", "2026-05-09", "2026-05-10", actor="boss")  # right after: fine
    assert [(s.deputy, s.starts_on.day) for s in subs.current(person="petrov")] == [("sidorov", 4), ("kozlov", 9)]


def test_two_racing_substitutions_for_one_person_leave_one(staff, monkeypatch):
    """The overlap check and the insert hold one lock: of two deputies named at once, one wins.
    Each add waits after its check for the other to check too; under the lock the other cannot,
    so the wait times out and the first inserts before the second looks."""
    results: list[str] = []
    barrier, checked = threading.Barrier(2), threading.Barrier(2, timeout=1.5)
    original = Substitutions._conflicts

    def check_then_wait(self, *args):  # type: ignore[no-untyped-def]
        found = original(self, *args)
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait()
        return found

    monkeypatch.setattr(Substitutions, "_conflicts", check_then_wait)

    def name(deputy: str) -> None:
        barrier.wait()
        try:
            staff.substitutions.add("petrov", deputy, "2026-05-04", "2026-05-08", actor="boss")
            results.append("ok")
        except ValidationFailed as exc:
            results.append(exc.errors[0]["field"])

    threads = [threading.Thread(target=name, args=(d,)) for d in ("sidorov", "kozlov")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "starts_on"]
    assert len(staff.substitutions.current(person="petrov")) == 1
