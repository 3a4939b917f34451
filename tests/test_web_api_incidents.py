"""`/api/v1/incidents`: a supervisor lists, groups and retries incidents; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.definitions import collect_files
from engine.worker import Worker
from tests import engine_test_handlers as handlers
from tests.conftest import DIAGRAMS
from tests.web_harness import make_web


@pytest.fixture()
def web(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Three applications whose registry call failed with no retries left, one of another step."""
    web = make_web(tmp_path, settings={"handlers.modules": ["handlers", "tests.engine_test_handlers"],
                                       "retry.delays": []})
    web.medflow.definitions.deploy(collect_files([DIAGRAMS / "service_errors.bpmn"]), actor="test")
    for key, process in (("a", "flaky_call"), ("b", "flaky_call"), ("c", "flaky_call"), ("d", "flaky_policy")):
        monkeypatch.setitem(handlers.FLAKY_FAILURES, key, 1 if process == "flaky_call" else 2)
        web.medflow.runtime.start(process, {"key": key})
    web.medflow.clock.advance(timedelta(seconds=6))  # flaky_policy's own one retry fails too
    Worker(web.medflow, "w0").tick()
    return web


def test_a_supervisor_sees_the_outage_as_a_group_and_retries_it_at_a_rate(web) -> None:
    client, supervisor = web.client(), web.token("supervisor")
    groups = client.get("/api/v1/incidents/groups", headers=supervisor).json
    assert [(g["process_key"], g["element_id"], g["count"]) for g in groups] == [
        ("flaky_call", "call", 3), ("flaky_policy", "call_once", 1)]
    listed = client.get("/api/v1/incidents?process_key=flaky_call&limit=2", headers=supervisor).json
    assert [(i["process_key"], i["element_id"]) for i in listed] == [("flaky_call", "call")] * 2
    assert [i["business_key"] for i in listed] == [
        web.medflow.queries.instance(i["instance_id"])["business_key"] for i in listed]
    rest = client.get(f"/api/v1/incidents?process_key=flaky_call&after_id={listed[-1]['id']}", headers=supervisor).json
    assert len(rest) == 1

    answer = client.post("/api/v1/incidents/retry", headers=supervisor,
                         json={"process_key": "flaky_call", "up_to_id": groups[0]["last_id"], "per_second": 4})
    assert answer.status_code == 200, answer.json
    assert answer.json["scheduled"] == 3 and answer.json["remaining"] == 0
    assert answer.json["first_due_at"] < answer.json["last_due_at"]
    assert [g["process_key"] for g in client.get("/api/v1/incidents/groups", headers=supervisor).json] == ["flaky_policy"]
    resolved = client.get("/api/v1/incidents?status=resolved", headers=supervisor).json
    assert {i["resolved_by"] for i in resolved} == {"supervisor"} and len(resolved) == 3

    web.medflow.clock.advance(timedelta(seconds=2))
    assert Worker(web.medflow, "w1").tick().fired == 3
    assert {i["status"] for i in web.medflow.queries.instances(process_key="flaky_call")} == {"completed"}


def test_one_incident_is_retried_now_and_a_second_retry_is_a_conflict(web) -> None:
    client, supervisor = web.client(), web.token("supervisor")
    (incident,) = client.get("/api/v1/incidents?handler=test_flaky&element_id=call_once", headers=supervisor).json
    done = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=supervisor)
    assert done.status_code == 200 and done.json["status"] == "completed"
    again = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=supervisor)
    assert again.status_code == 409 and "уже закрыт" in again.json["message"]
    assert client.post("/api/v1/incidents/999999/retry", headers=supervisor).status_code == 404
    assert client.post("/api/v1/incidents/первый/retry", headers=supervisor).json["error"] == "not_found"


@pytest.mark.parametrize(("body", "field"), [
    ({"per_second": 0}, "per_second"), ({"per_second": -1}, "per_second"), ({"per_second": "быстро"}, "per_second"),
    ({"per_second": True}, "per_second"), ({"per_second": 1e9}, "per_second"), ({"up_to_id": "5"}, "up_to_id"),
    ({"up_to_id": 0}, "up_to_id"), ({"limit": 0}, "limit"), ({"limit": 10**6}, "limit"),
    ({"process_key": 7}, "process_key"), ({"handler": "x" * 201}, "handler"),
])
def test_bad_input_names_its_field_and_changes_nothing(web, body, field) -> None:
    client, supervisor = web.client(), web.token("supervisor")
    answer = client.post("/api/v1/incidents/retry", headers=supervisor, json=body)
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == field and answer.json["message"]
    assert web.medflow.queries.open_incident_count() == 4


def test_only_a_supervisor_may(web) -> None:
    client = web.client()
    for who in ("operator1", "ivanova", "analyst"):
        headers = web.token(who)
        assert client.get("/api/v1/incidents", headers=headers).status_code == 403
        assert client.post("/api/v1/incidents/retry", headers=headers, json={}).status_code == 403
    assert client.post("/api/v1/incidents/retry", json={}).status_code == 401
    assert client.get("/api/v1/incidents?status=resolved&handler=x", headers=web.token("supervisor")).status_code == 422
    assert client.post("/api/v1/incidents/retry", headers=web.token("supervisor"), data="[]",
                       content_type="application/json").status_code == 422
    assert web.medflow.queries.open_incident_count() == 4
