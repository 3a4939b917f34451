"""`medflow demo generate`: clones are independent instances the engine can run.

A small data set (40 applications: one real template per shape, the rest clones) on SQLite and
PostgreSQL; then a cloned task is completed, a cloned timer fired and a message delivered to a
clone through the engine, and the template and the other clones are left as they were.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

import handlers
from engine.bootstrap import MedFlow, build
from engine.bulk_data import DEFAULT_SHAPES, plan_counts
from engine.cli.main import cli
from engine.clock import RealClock, SimulatedClock, install_clock
from engine.config import load_settings
from engine.models import AuditEvent, Instance, Job, MessageSubscription, UserTask

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COUNT = 40


@pytest.fixture
def generated(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MEDFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("MEDFLOW_PATHS_DOCUMENTS", str(tmp_path / "documents"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--json"]).exit_code == 0
    result = runner.invoke(cli, ["demo", "generate", "--applications", str(COUNT), "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    settings = load_settings().with_overrides({"database.url": database_url,
                                               "paths.documents": str(tmp_path / "documents")})
    medflow = build(settings, clock=SimulatedClock(datetime.now(UTC)))
    handlers.setup(medflow)
    try:
        yield medflow, report
    finally:
        medflow.db.dispose()
        install_clock(RealClock())


def _clone_and_template(medflow: MedFlow, process_key: str, where) -> tuple[Instance, Instance]:  # type: ignore[no-untyped-def]
    """The first instance of a group is its template (it ran through the engine); the next is a clone."""
    with medflow.db.read() as session:
        rows = list(session.scalars(select(Instance).where(Instance.process_key == process_key, where)
                                    .order_by(Instance.id)))
    assert len(rows) >= 2, "the shape should have a template and at least one clone"
    template = next(r for r in rows if not (r.started_by or "").startswith("applicant"))
    clone = next(r for r in rows if r.id > template.id and (r.started_by or "").startswith("applicant"))
    return clone, template


def test_plan_adds_up_and_spreads_ages():
    import random

    for total in (1, 7, 40, 100_000):
        plan = plan_counts(DEFAULT_SHAPES, total, random.Random(1))
        assert sum(n for ages in plan.values() for _age, n in ages) == total
    big = plan_counts(DEFAULT_SHAPES, 100_000, random.Random(1))
    assert len(big["medbook/review"]) >= 5  # deadlines spread over weeks, not one day


def test_generate_makes_every_state_with_unique_identities(generated):
    medflow, report = generated
    assert report["applications"] == COUNT and 1 <= report["templates"] < COUNT
    with medflow.db.read() as session:
        keys = list(session.scalars(select(Instance.business_key)))
        states = Counter(session.execute(select(Instance.process_key, Instance.status)).all())
        task_ids = list(session.scalars(select(UserTask.id)))
    assert len(keys) == len(set(keys)) >= COUNT
    assert len(task_ids) == len(set(task_ids))
    assert states[("medbook_issuance", "running")] and states[("medbook_issuance", "completed")]
    assert {p for p, _ in states} >= {"medbook_issuance", "clinician_registration", "qualification_confirmation"}
    # A real start after the clones takes the next application number, not one a clone holds.
    started = medflow.runtime.start("medbook_issuance", {}, actor="ivanova")
    assert started["business_key"] not in keys


def test_cloned_task_completes_and_template_is_untouched(generated):
    medflow, _ = generated
    with medflow.db.read() as session:
        review_ids = select(UserTask.instance_id).where(UserTask.element_id == "review", UserTask.status == "open",
                                                        UserTask.process_key == "medbook_issuance")
    clone, template = _clone_and_template(medflow, "medbook_issuance", Instance.id.in_(review_ids))
    assert not set(UUID.findall(clone.state)) & set(UUID.findall(template.state))
    (task,) = [t for t in medflow.queries.tasks(business_key=clone.business_key) if t["element_id"] == "review"]
    result = medflow.runtime.complete(task["id"], {"decision": "approve"}, user="operator1")
    assert result["status"] == "completed" and result["business_key"] == clone.business_key
    assert medflow.queries.instance(template.id, with_data=False)["status"] == "running"
    assert [t["element_id"] for t in medflow.queries.tasks(business_key=template.business_key)] == ["review"]
    with medflow.db.read() as session:
        waiting = session.scalar(select(func.count()).select_from(Job).where(
            Job.instance_id == clone.id, Job.status == "waiting"))
    assert waiting == 0  # the clone's boundary timers were cancelled with its task


def test_cloned_timer_fires_through_the_engine(generated):
    medflow, _ = generated
    clone, template = _clone_and_template(medflow, "medbook_issuance", Instance.next_due_at.is_not(None))
    with medflow.db.read() as session:
        job = session.scalars(select(Job).where(Job.instance_id == clone.id, Job.status == "waiting")
                              .order_by(Job.due_at)).first()
        template_waiting = session.scalar(select(func.count()).select_from(Job).where(
            Job.instance_id == template.id, Job.status == "waiting"))
    medflow.clock.set(job.due_at + timedelta(seconds=1))  # type: ignore[attr-defined]
    assert medflow.runtime.fire_job(job.id, "test-worker")
    with medflow.db.read() as session:
        fired = session.scalars(select(AuditEvent).where(AuditEvent.instance_id == clone.id,
                                                          AuditEvent.action == "timer_fired")).all()
        still = session.scalar(select(func.count()).select_from(Job).where(
            Job.instance_id == template.id, Job.status == "waiting"))
    assert [e.element_id for e in fired][-1] == job.element_id
    assert still == template_waiting


def test_message_reaches_the_clone_it_names(generated):
    medflow, _ = generated
    with medflow.db.read() as session:
        waiting = select(MessageSubscription.instance_id).where(MessageSubscription.message_name == "resubmission")
    clone, template = _clone_and_template(medflow, "medbook_issuance", Instance.id.in_(waiting))
    medflow.runtime.send_message("resubmission", clone.business_key, {"corrections": {}}, actor="portal")
    with medflow.db.read() as session:
        left = set(session.scalars(select(MessageSubscription.instance_id).where(
            MessageSubscription.message_name == "resubmission")))
    assert clone.id not in left and template.id in left


def test_generate_leaves_planner_statistics(generated):
    medflow, report = generated
    assert report["seconds_analyze"] >= 0
    with medflow.db.read() as session:
        if medflow.db.is_postgres:
            analysed = session.execute(text(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")).scalars().all()
        else:
            analysed = session.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars().all()
    assert {"instances", "user_tasks", "jobs"} <= set(analysed)
