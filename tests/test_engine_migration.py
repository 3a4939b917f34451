"""Waiting instances move to a new version when the change allows it, and are refused with
reasons when it does not; instances that are not moved finish on their own version."""

from __future__ import annotations

import pytest

from engine.definitions import collect_files
from engine.instance_migration import InstanceMigrator
from tests.conftest import DIAGRAMS


def _deploy_changed(medflow, old: bytes, new: bytes) -> None:
    files = collect_files([DIAGRAMS])
    medflow.definitions.deploy({**files, "review_loop.bpmn": files["review_loop.bpmn"].replace(old, new)})


def test_compatible_change_migrates_waiting_instances(medflow):
    waiting = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    _deploy_changed(medflow, "Выдача".encode(), "Выдача электронной медкнижки".encode())
    migrator = InstanceMigrator(medflow.store)
    (plan,) = migrator.run("review_loop", None, "analyst", apply=False)
    assert plan.allowed and (plan.from_version, plan.to_version) == (1, 2)
    assert medflow.queries.instance(waiting["id"])["version"] == 1  # a dry run changes nothing
    migrator.run("review_loop", None, "analyst", apply=True)
    assert medflow.queries.instance(waiting["id"])["version"] == 2
    (task,) = medflow.queries.tasks(business_key=waiting["business_key"])
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(waiting["id"])["status"] == "completed"
    assert ("instance_migrated", "v2") in [(e["action"], e["new"]) for e in medflow.queries.history(waiting["id"])]


def test_renaming_the_waiting_element_is_refused_with_reasons(medflow):
    waiting = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    files = collect_files([DIAGRAMS])
    renamed = files["review_loop.bpmn"].replace(b'"review"', b'"examination"').replace(b">review<", b">examination<")
    medflow.definitions.deploy({**files, "review_loop.bpmn": renamed})
    (plan,) = InstanceMigrator(medflow.store).run("review_loop", None, "analyst", apply=True)
    assert not plan.allowed
    assert "элемент «review» удалён в новой версии" in plan.blockers
    assert medflow.queries.instance(waiting["id"])["version"] == 1
    (task,) = medflow.queries.tasks(business_key=waiting["business_key"])  # still works on version 1
    medflow.runtime.complete(task["id"], {"decision": "approve"}, user="op")
    assert medflow.queries.instance(waiting["id"])["status"] == "completed"


def test_a_failure_keeps_the_batches_already_moved_and_a_second_run_moves_the_rest(medflow, monkeypatch):
    """A transaction per batch: the first batch stays moved when the second fails, and the
    instances of the failed batch stay, whole, on their version."""
    waiting = [medflow.runtime.start("review_loop", {"applicant_name": f"А{i}"})["id"] for i in range(5)]
    _deploy_changed(medflow, "Выдача".encode(), "Выдача электронной медкнижки".encode())
    migrator = InstanceMigrator(medflow.store)
    move, moved = migrator._move, []

    def failing_third(session, row, target, plan, actor):  # type: ignore[no-untyped-def]
        if len(moved) == 2:
            raise RuntimeError("сбой на третьем заявлении")
        moved.append(row.id)
        move(session, row, target, plan, actor)

    monkeypatch.setattr(migrator, "_move", failing_third)
    with pytest.raises(RuntimeError):
        migrator.run("review_loop", None, "analyst", apply=True, batch=2)
    versions = [medflow.queries.instance(i)["version"] for i in waiting]
    assert versions == [2, 2, 1, 1, 1]
    monkeypatch.undo()
    rest = InstanceMigrator(medflow.store).run("review_loop", None, "analyst", apply=True, batch=2)
    assert [p.instance_id for p in rest] == waiting[2:] and all(p.allowed for p in rest)
    for instance_id in waiting:
        assert medflow.queries.instance(instance_id)["version"] == 2
        events = [e for e in medflow.queries.history(instance_id) if e["action"] == "instance_migrated"]
        assert len(events) == 1  # the failed batch wrote nothing


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_other_commands_get_in_between_batches(database_url, sim_clock, monkeypatch):
    """SQLite has no queue for its write lock: a writer waiting on it polls, and against batches
    that follow each other at once it never got in before its lock timeout."""
    import threading
    import time

    from tests.conftest import make_medflow

    medflow = make_medflow(database_url, sim_clock, **{"database.lock_timeout_seconds": 0.5})
    try:
        medflow.definitions.deploy(collect_files([DIAGRAMS]))
        waiting = [medflow.runtime.start("review_loop", {"applicant_name": f"А{i}"})["id"] for i in range(60)]
        _deploy_changed(medflow, "Выдача".encode(), "Выдача электронной медкнижки".encode())
        migrator = InstanceMigrator(medflow.store)
        plan = migrator._plan

        def heavy(*args, **kwargs):  # type: ignore[no-untyped-def]
            time.sleep(0.02)  # a large state: a batch of 10 holds the lock for 0.2 s
            return plan(*args, **kwargs)

        monkeypatch.setattr(migrator, "_plan", heavy)
        moving = threading.Thread(target=migrator.run, args=("review_loop", None, "analyst", True, 10))
        moving.start()
        time.sleep(0.3)
        try:
            started = medflow.runtime.start("review_loop", {"applicant_name": "Новое"})
        finally:
            moving.join()
        assert medflow.queries.instance(started["id"])["status"] == "running"
        assert {medflow.queries.instance(i)["version"] for i in waiting} == {2}
    finally:
        medflow.db.dispose()
