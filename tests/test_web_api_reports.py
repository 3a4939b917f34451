"""`GET /api/v1/reports/applications`: a supervisor's period figures; a bad period is a 422 by field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.web_harness import web_for


@pytest.fixture
def web(medflow):  # type: ignore[no-untyped-def]
    return web_for(medflow)


def test_a_supervisor_reads_the_months_figures(web, sim_clock) -> None:
    runtime = web.medflow.runtime
    first = runtime.start("review_loop", {"applicant_name": "А"})
    runtime.complete(first["open_tasks"][0]["id"], {"decision": "approve"}, user="operator1")
    runtime.start("review_loop", {"applicant_name": "Б"})
    gone = runtime.start("review_loop", {"applicant_name": "В"})
    runtime.cancel(gone["id"], actor="supervisor")
    client = web.client()
    answer = client.get("/api/v1/reports/applications?from=01.04.2026&to=2026-04-30", headers=web.token("supervisor"))
    assert answer.status_code == 200, answer.json
    (review,) = answer.json["processes"]
    assert (answer.json["from"], answer.json["to"]) == ("2026-04-01", "2026-04-30")
    assert (review["process_key"], review["submitted"], review["finished"], review["tasks_done"]) == (
        "review_loop", 3, 2, 1)
    assert review["outcomes"]["Отменено"] == 1 and review["on_time_share"] == 1.0
    sim_clock.advance(timedelta(days=40))
    june = client.get("/api/v1/reports/applications?from=2026-06-01&to=2026-06-09&process_key=review_loop",
                      headers=web.token("supervisor")).json
    assert june["processes"] == []


@pytest.mark.parametrize(("query", "field"), [("from=2026-04-30&to=2026-04-01", "to"), ("to=2026-04-30", "from"),
                                              ("from=2026-04-01&to=завтра", "to")])
def test_a_bad_period_is_a_422_naming_its_field(web, query, field) -> None:
    answer = web.client().get(f"/api/v1/reports/applications?{query}", headers=web.token("supervisor"))
    assert answer.status_code == 422 and field in [e["field"] for e in answer.json["errors"]]


def test_only_supervisors_read_the_report(web) -> None:
    answer = web.client().get("/api/v1/reports/applications?from=2026-04-01&to=2026-04-30",
                              headers=web.token("operator1"))
    assert answer.status_code == 403
