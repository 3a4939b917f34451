"""Waiting instances move to a new version when the change allows it, and are refused with
reasons when it does not; instances that are not moved finish on their own version."""

from __future__ import annotations

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
