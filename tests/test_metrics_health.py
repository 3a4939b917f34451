"""`/health`, `/ready` and `/metrics` through the Flask test client."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from handlers.scenarios.session import ScenarioSession
from tests.web_harness import make_web
from webui.health import migration_heads


@pytest.fixture
def web(tmp_path: Path):  # type: ignore[no-untyped-def]
    web = make_web(tmp_path)
    yield web
    web.medflow.db.dispose()


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels); parsing proves the format is valid."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def _review_application(web) -> tuple[ScenarioSession, str]:  # type: ignore[no-untyped-def]
    session = ScenarioSession(web.medflow)
    session.upload("passport", "passport.pdf", "pdf")
    session.upload("oms", "oms.jpg", "jpeg", dpi=300)
    key = session.start("medbook_issuance", "ivanova")
    session.complete("submit_application", "ivanova", {
        "filed_by": "self", "applicant": {"$demo_applicant": 0, "email": "ivanova@example.ru"},
        "medbook": {"type": "regular", "work_category": "medical"},
        "documents": {"passport_scan": "$doc:passport", "oms_scan": "$doc:oms"}, "consent_personal_data": True})
    return session, key


def test_health_is_liveness_only(web):
    response = web.client().get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_when_database_answers_and_schema_is_at_head(web):
    response = web.client().get("/ready")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ready" and body["database"] == "ok"
    assert body["migrations"]["current"] == body["migrations"]["head"] == sorted(migration_heads())


def test_not_ready_when_schema_is_behind(web):
    with web.medflow.db.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = web.client().get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["migrations"]["current"] == ["0001"] and "medflow init" in body["reason"]


def test_not_ready_when_database_is_unreachable(web, tmp_path, monkeypatch):
    broken = create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'nested' / 'x.db'}")
    monkeypatch.setattr(web.medflow.db, "_read_factory", sessionmaker(broken))
    response = web.client().get("/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unreachable" and body["reason"].startswith("база данных недоступна")
    assert web.client().get("/health").status_code == 200  # liveness does not depend on the database


def test_metrics_database_gauges_and_step_counters(web):
    client = web.client()
    before = _samples(client.get("/metrics").get_data(as_text=True))
    session, _key = _review_application(web)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = _samples(response.get_data(as_text=True))
    assert after[("medflow_instances", (("process_key", "medbook_issuance"), ("status", "running")))] == 1
    assert after[("medflow_open_tasks", (("candidate_group", "medbook_operators"), ("sla", "ok")))] == 1
    assert after[("medflow_incidents_open", ())] == 0
    assert after[("medflow_jobs_waiting", ())] == 3 and after[("medflow_jobs_due", ())] == 0
    started = (("command", "start"), ("outcome", "ok"))
    assert after[("medflow_steps_total", started)] == before.get(("medflow_steps_total", started), 0) + 1
    count = ("medflow_step_duration_seconds_count", (("command", "complete"),))
    assert after[count] >= before.get(count, 0) + 1

    # The reminder is due at the end of the 3rd working day: the backlog shows until a worker fires it.
    session.advance("4 working days")
    due = _samples(client.get("/metrics").get_data(as_text=True))
    assert due[("medflow_jobs_due", ())] == 1 and due[("medflow_jobs_oldest_due_seconds", ())] > 0
    assert session.run_timers() == 1
    fired = _samples(client.get("/metrics").get_data(as_text=True))
    assert fired[("medflow_jobs_due", ())] == 0 and fired[("medflow_timers_fired_recent", ())] == 1
    assert fired[("medflow_timer_lateness_seconds", (("quantile", "0.99"),))] >= 0

    session.advance("10 working days")
    overdue = _samples(client.get("/metrics").get_data(as_text=True))
    assert overdue[("medflow_open_tasks", (("candidate_group", "medbook_operators"), ("sla", "overdue")))] == 1


def test_metrics_token_when_configured(web):
    web.medflow.settings = web.medflow.settings.with_overrides({"web.metrics_token": "s3cret"})
    client = web.client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_finished_applications_are_counted_every_few_minutes_work_in_progress_at_each_scrape(web):
    """The count of finished applications reads every one ever finished; it is refreshed at most
    every web.metrics_finished_seconds. Work in progress is counted at each scrape."""
    from webui.metrics import FinishedTotals

    seconds = [0.0]
    web.app.extensions["medflow_finished_totals"] = FinishedTotals(300, timer=lambda: seconds[0])
    client = web.client()
    runtime = web.medflow.runtime
    first, second = (runtime.start("medbook_issuance", {}, actor="petrov")["id"] for _ in range(2))
    runtime.cancel(first, "petrov")
    cancelled = ("medflow_instances", (("process_key", "medbook_issuance"), ("status", "cancelled")))
    running = ("medflow_instances", (("process_key", "medbook_issuance"), ("status", "running")))
    scrape = _samples(client.get("/metrics").get_data(as_text=True))
    assert scrape[cancelled] == 1 and scrape[running] == 1

    runtime.cancel(second, "petrov")
    seconds[0] = 299.0
    scrape = _samples(client.get("/metrics").get_data(as_text=True))
    assert scrape[cancelled] == 1, "counted again before the interval"
    assert running not in scrape, "work in progress is live"

    seconds[0] = 300.0
    assert _samples(client.get("/metrics").get_data(as_text=True))[cancelled] == 2
