"""Instances on both databases: start, forms, claims, messages, call activities, cancel, versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions import collect_files
from engine.errors import Conflict, MessageNotMatched, NotFound, ValidationFailed
from tests.conftest import DIAGRAMS


def _review_task(medflow, key: str) -> dict:
    tasks = medflow.queries.tasks(business_key=key)
    assert len(tasks) == 1
    return tasks[0]


def test_happy_path_with_form_validation_and_status(medflow):
    started = medflow.runtime.start("review_loop", {"applicant_name": "Иванов"}, actor="ivanov")
    key = started["business_key"]
    assert key == "ЗВ-2026-000001"
    assert started["portal_status"] == "Заявление принято к рассмотрению"
    task = _review_task(medflow, key)
    assert task["candidate_group"] == "operators"
    # 10 working days from Thursday 30.04.2026 end on 18.05.2026; due at midnight Moscow after it.
    assert task["due_at"] == "2026-05-18T21:00:00+00:00"

    before = medflow.queries.instance(key)
    with pytest.raises(ValidationFailed) as bad:
        medflow.runtime.complete(task["id"], {"decision": "maybe", "comment": "x" * 600}, user="op")
    fields = {e["field"] for e in bad.value.errors}
    assert fields == {"decision", "comment"}
    after = medflow.queries.instance(key)
    assert after["steps"] == before["steps"] and after["open_tasks"] == before["open_tasks"]

    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    done = medflow.queries.instance(key)
    assert done["status"] == "completed"
    assert done["portal_status"] == "Услуга оказана"
    assert done["data"]["issued"] == {"number": f"N-{key}", "for": "Иванов"}
    actions = [e["action"] for e in medflow.queries.history(key)]
    assert actions[0] == "instance_started"
    assert "task_completed" in actions and "status_changed" in actions and actions[-1] == "instance_completed"


def test_unknown_process_and_task_errors(medflow):
    with pytest.raises(NotFound):
        medflow.runtime.start("no_such_process", {})
    with pytest.raises(NotFound):
        medflow.runtime.complete("00000000-0000-0000-0000-000000000000", {}, user="op")


def test_claim_rules_and_completed_task_conflict(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    task = _review_task(medflow, key)
    medflow.runtime.claim(task["id"], "petrova")
    with pytest.raises(Conflict, match="petrova"):
        medflow.runtime.claim(task["id"], "sidorov")
    with pytest.raises(Conflict, match="petrova"):
        medflow.runtime.complete(task["id"], {"decision": "approve"}, user="sidorov")
    with pytest.raises(Conflict):
        medflow.runtime.unclaim(task["id"], "sidorov")
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="petrova")
    with pytest.raises(Conflict, match="уже выполнена: petrova"):
        medflow.runtime.complete(task["id"], {"decision": "approve"}, user="petrova")


def test_message_goes_to_the_right_instance_among_many(medflow):
    keys = [medflow.runtime.start("review_loop", {"applicant_name": f"№{i}"})["business_key"] for i in range(6)]
    for key in keys:
        medflow.runtime.complete(_review_task(medflow, key)["id"], {"decision": "fix"}, user="op")
    target = keys[3]
    assert medflow.queries.instance(target)["portal_status"] == "Заявление требует исправления"
    medflow.runtime.send_message("resubmit", target, {"fixed_field": "snils"}, actor="applicant")
    for key in keys:
        inst = medflow.queries.instance(key)
        if key == target:
            assert inst["waiting_for_messages"] == []
            assert inst["data"]["fixed_field"] == "snils"
            assert inst["portal_status"] == "Заявление принято к рассмотрению"
        else:
            assert inst["waiting_for_messages"] == ["resubmit"]
            assert "fixed_field" not in inst["data"]


def test_unmatched_message_is_kept_and_reported(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    before = medflow.queries.instance(key)
    with pytest.raises(MessageNotMatched, match="не ожидает"):
        medflow.runtime.send_message("resubmit", key, {"x": 1}, actor="applicant")
    with pytest.raises(MessageNotMatched, match="нет"):
        medflow.runtime.send_message("resubmit", "ЗВ-2026-999999", {}, actor="applicant")
    kept = medflow.queries.unmatched_messages()
    assert [(m["name"], m["business_key"]) for m in kept] == [("resubmit", "ЗВ-2026-999999"), ("resubmit", key)]
    assert medflow.queries.instance(key)["steps"] == before["steps"]


def test_call_activity_passes_declared_data_only(medflow):
    started = medflow.runtime.start("fee_parent", {"copies": 2, "applicant": "Петров"})
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "completed"
    assert inst["data"]["fee"] == 500
    assert inst["data"]["applicant"] == "Петров"  # the parent's data survives the call
    assert "secret" not in inst["data"]  # only declared outputs come back


def test_cancel_closes_tasks_and_timers(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    inst = medflow.queries.instance(key)
    assert inst["jobs"] and inst["open_tasks"]
    medflow.runtime.cancel(inst["id"], "supervisor", "заявитель отозвал")
    after = medflow.queries.instance(key)
    assert after["status"] == "cancelled" and after["open_tasks"] == [] and after["jobs"] == []
    with pytest.raises(Conflict):
        medflow.runtime.cancel(inst["id"], "supervisor")


def test_versions_unchanged_files_and_running_instances(medflow, tmp_path: Path):
    files = collect_files([DIAGRAMS])
    again = medflow.definitions.deploy(files)
    assert all(not r.created for r in again)
    old = medflow.runtime.start("review_loop", {"applicant_name": "Старый"})
    changed = files["review_loop.bpmn"].replace("Выдача".encode(), "Выдача документа".encode())
    results = {r.process_key: r for r in medflow.definitions.deploy({**files, "review_loop.bpmn": changed})}
    assert results["review_loop"].created and results["review_loop"].version == 2
    assert not results["wait_working_days"].created  # other processes did not change
    new = medflow.runtime.start("review_loop", {"applicant_name": "Новый"})
    assert medflow.queries.instance(old["id"])["version"] == 1
    assert medflow.queries.instance(new["id"])["version"] == 2
    task = _review_task(medflow, old["business_key"])
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(old["id"])["status"] == "completed"


def test_business_keys_are_sequential_per_prefix(medflow):
    keys = [medflow.runtime.start("fee_parent", {"copies": 1})["business_key"] for _ in range(3)]
    assert keys == ["ЗВ-2026-000001", "ЗВ-2026-000002", "ЗВ-2026-000003"]


def test_answers_name_the_next_open_tasks(medflow):
    started = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    (task,) = started["open_tasks"]
    assert task["element_id"] == "review" and task["candidate_group"] == "operators"
    assert task["id"] == medflow.queries.tasks(business_key=started["business_key"])[0]["id"]
    done = medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    assert done["open_tasks"] == [] and done["status"] == "completed"


def test_worklist_pages_by_due_time_with_a_keyset_cursor(medflow, sim_clock):
    from datetime import timedelta

    for _ in range(5):
        medflow.runtime.start("answer_or_expire", {})  # due two hours after each start
        sim_clock.advance(timedelta(minutes=1))
    medflow.runtime.start("review_loop", {"applicant_name": "А"})  # another group: not in this queue
    first = medflow.queries.tasks(groups=["clerks"], limit=3)
    assert [t["due_at"] for t in first] == sorted(t["due_at"] for t in first)
    last = first[-1]
    rest = medflow.queries.tasks(groups=["clerks"], limit=3, after=(
        datetime_of(last["due_at"]), datetime_of(last["created_at"]), last["id"]))
    assert len(rest) == 2 and not {t["id"] for t in rest} & {t["id"] for t in first}
    medflow.runtime.claim(first[0]["id"], "clerk1")
    mine = medflow.queries.tasks(groups=["clerks"], assignee="clerk1")
    assert len(mine) == 5 and len({t["id"] for t in mine}) == 5  # the claimed one listed once


def datetime_of(text):
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_cached_workflows_do_not_keep_their_steps_sessions_alive(medflow):
    """The cache holds workflows between steps; each held its finished step's session (and
    through it the rows it touched) until a soak showed memory growing with the cache."""
    import gc

    from sqlalchemy.orm import Session

    for i in range(5):
        medflow.runtime.start("review_loop", {"applicant_name": f"А{i}"})
    gc.collect()
    assert len(medflow.store.cache._entries) == 5
    assert [o for o in gc.get_objects() if isinstance(o, Session)] == []
    # And the cached workflow is used again by the next step.
    key = medflow.queries.instances()[0]["business_key"]
    medflow.runtime.complete(_review_task(medflow, key)["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(key)["status"] == "completed"
    medflow.store.cache.resize(2)  # what a standalone worker does (worker.workflow_cache)
    assert len(medflow.store.cache._entries) == 2
