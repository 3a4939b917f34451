"""`/api/v1/substitutions`, and `/api/v1/tasks` for a deputy: who may name whom, per-field 422s that
save nothing, and the absent operator's work in the deputy's task list."""

from __future__ import annotations

import pytest

from tests.test_web_worklist import submitted
from tests.web_harness import make_web


@pytest.fixture()
def web(tmp_path):  # type: ignore[no-untyped-def]
    return make_web(tmp_path)


def _today(web) -> str:  # type: ignore[no-untyped-def]
    return web.medflow.substitutions.today().isoformat()


def test_a_deputy_lists_and_completes_the_absent_operators_task_through_the_api(web) -> None:
    client, supervisor = web.client(), web.token("supervisor")
    _, task_id = submitted(web)
    task = {"id": task_id}
    web.medflow.runtime.claim(task_id, "operator2")
    deputy = web.token("commission")  # accreditation: not in the medbook operators' group
    assert client.get("/api/v1/tasks", headers=deputy).json == []
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=deputy,
                       json={"data": {"decision": "approve"}}).status_code == 404

    added = client.post("/api/v1/substitutions", headers=supervisor, json={
        "absent": "operator2", "deputy": "commission", "starts_on": _today(web), "ends_on": _today(web),
        "reason": "больничный"})
    assert added.status_code == 201, added.json
    assert (added.json["active"], added.json["created_by"]) == (True, "supervisor")
    assert [t["id"] for t in client.get("/api/v1/tasks", headers=deputy).json] == [task["id"]]
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=deputy, json={"data": {"decision": "approve"}})
    assert done.status_code == 200, done.json
    assert web.medflow.queries.task(task["id"])["completed_by"] == "commission"

    cancelled = client.post(f"/api/v1/substitutions/{added.json['id']}/cancel", headers=supervisor)
    assert cancelled.status_code == 200 and cancelled.json["cancelled_by"] == "supervisor"
    assert client.get("/api/v1/substitutions", headers=supervisor).json == []
    again = client.post(f"/api/v1/substitutions/{added.json['id']}/cancel", headers=supervisor)
    assert again.status_code == 409 and "уже отменено" in again.json["message"]


def test_an_operator_names_a_deputy_only_for_their_own_absence(web) -> None:
    client, operator = web.client(), web.token("operator2")
    other = client.post("/api/v1/substitutions", headers=operator, json={
        "absent": "operator1", "deputy": "operator2", "starts_on": _today(web), "ends_on": _today(web)})
    assert other.status_code == 403
    own = client.post("/api/v1/substitutions", headers=operator, json={
        "absent": "operator2", "deputy": "operator1", "starts_on": _today(web), "ends_on": _today(web)})
    assert own.status_code == 201, own.json
    # Each operator lists only where they are the absent one or the deputy.
    assert [s["id"] for s in client.get("/api/v1/substitutions", headers=web.token("operator1")).json] == [own.json["id"]]
    assert client.get("/api/v1/substitutions", headers=web.token("commission")).json == []
    assert client.post(f"/api/v1/substitutions/{own.json['id']}/cancel", headers=web.token("operator1")).status_code == 403
    assert client.get("/api/v1/substitutions", headers=web.token("petrov")).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"absent": "operator1", "deputy": "operator2", "starts_on": 20261207, "ends_on": "2026-12-18"}, "starts_on"),
    ({"absent": "operator1", "deputy": "operator1", "starts_on": "2026-12-07", "ends_on": "2026-12-18"}, "deputy"),
    ({"absent": "operator1", "deputy": "operator2", "starts_on": "2026-12-18", "ends_on": "2026-12-07"}, "ends_on"),
    ({"absent": "operator1", "deputy": "petrov", "starts_on": "2026-12-07", "ends_on": "2026-12-18"}, "deputy"),
    ({"absent": "operator1", "deputy": "operator2", "starts_on": "07.12.2026"}, "ends_on"),
    ({"absent": ["operator1"], "deputy": "operator2", "starts_on": "2026-12-07", "ends_on": "2026-12-18"}, "absent"),
])
def test_a_bad_substitution_is_a_422_naming_its_field_and_saves_nothing(web, body, field) -> None:
    client, supervisor = web.client(), web.token("supervisor")
    answer = client.post("/api/v1/substitutions", headers=supervisor, json=body)
    assert answer.status_code == 422, answer.json
    assert field in [e["field"] for e in answer.json["errors"]]
    assert client.get("/api/v1/substitutions", headers=supervisor).json == []
