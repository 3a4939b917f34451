"""REST API: tokens, roles, start → tasks → claim → complete (200/409/422), messages, documents,
definitions, calendar, clock."""

from __future__ import annotations

import io

import pytest

from tests.medflow_harness import PROJECT, sample_file
from tests.web_harness import make_web


@pytest.fixture()
def web(tmp_path):
    return make_web(tmp_path)


def upload(client, headers, name="passport.pdf", kind="pdf") -> str:
    response = client.post("/api/v1/documents", headers=headers,
                           data={"file": (io.BytesIO(sample_file(kind)), name)}, content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    return response.json["id"]


def application(client, headers) -> dict:
    from handlers.demo_registry_data import demo_applicant

    return {"filed_by": "self", "applicant": {**demo_applicant(0), "phone": "+79161234567"},
            "medbook": {"type": "regular", "work_category": "medical"},
            "documents": {"passport_scan": upload(client, headers), "oms_scan": upload(client, headers, "oms.jpg", "jpeg")},
            "consent_personal_data": True}


def test_token_is_required_and_checked(web) -> None:
    client = web.client()
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer mf_wrong"}).json["error"] == "unauthorized"
    me = client.get("/api/v1/me", headers=web.token("operator1")).json
    assert me["username"] == "operator1" and "medbook_operators" in me["groups"]
    assert client.get("/api/v1/openapi.json").json["openapi"] == "3.1.0"  # public
    assert client.get("/api/v1/nope", headers=web.token("admin")).json["error"]


def test_applicant_and_operator_walk_an_application(web) -> None:
    client = web.client()
    ivanova, operator, other = web.token("ivanova"), web.token("operator1"), web.token("petrov")
    started = client.post("/api/v1/instances", headers=ivanova, json={"process_key": "medbook_issuance"})
    assert started.status_code == 201 and started.json["business_key"] == "МК-2026-000001"
    key = started.json["business_key"]
    [draft] = client.get("/api/v1/tasks", headers=ivanova).json
    assert draft["candidate_group"] == "applicants"
    form = client.get(f"/api/v1/tasks/{draft['id']}/form", headers=ivanova).json
    assert form["schema"]["title"].startswith("Заявление") and form["ui_schema"]["ui:order"][0] == "filed_by"
    bad = application(client, ivanova)
    bad["applicant"]["snils"] = "11223344594"
    invalid = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=ivanova, json={"data": bad})
    assert invalid.status_code == 422
    assert {"field": "applicant.snils", "message": "Неверная контрольная сумма СНИЛС", "code": "format"} in invalid.json["errors"]
    done = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=ivanova, json={"data": application(client, ivanova)})
    assert done.status_code == 200 and done.json["portal_status"] == "Заявление принято к рассмотрению"
    assert client.get(f"/api/v1/instances/{key}", headers=other).status_code == 404
    assert client.get(f"/api/v1/instances/{key}", headers=ivanova).json["business_key"] == key
    assert [i["business_key"] for i in client.get("/api/v1/instances", headers=ivanova).json] == [key]
    assert client.get("/api/v1/instances", headers=other).json == []
    [review] = client.get("/api/v1/tasks?process_key=medbook_issuance", headers=operator).json
    assert client.get("/api/v1/tasks", headers=web.token("commission")).json == []
    assert client.post(f"/api/v1/tasks/{review['id']}/claim", headers=operator).json["assignee"] == "operator1"
    conflict = client.post(f"/api/v1/tasks/{review['id']}/claim", headers=web.token("operator2"))
    assert conflict.status_code == 409 and "operator1" in conflict.json["message"]
    half = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=operator,
                       json={"data": {"decision": "refuse"}})
    assert half.status_code == 422 and half.json["errors"][0]["field"] == "reason"
    ok = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=operator, json={"data": {"decision": "approve"}})
    assert ok.status_code == 200 and ok.json["status"] == "completed"
    again = client.post(f"/api/v1/tasks/{review['id']}/complete", headers=operator, json={"data": {"decision": "approve"}})
    assert again.status_code == 409 and "уже выполнена" in again.json["message"]
    history = client.get(f"/api/v1/instances/{key}/history", headers=web.token("supervisor")).json
    assert ("task_completed", "operator1") in [(e["action"], e["actor"]) for e in history]
    assert client.get(f"/api/v1/instances/{key}/history", headers=ivanova).status_code == 403
    # The issued medbook was stored by the system under the application: its applicant reads it.
    issued = web.medflow.queries.instance(key)["data"]["medbook_issued"]["document_id"]
    assert client.get(f"/api/v1/documents/{issued}/content", headers=ivanova).data.startswith(b"%PDF")
    assert client.get(f"/api/v1/documents/{issued}", headers=other).status_code == 404


def test_history_is_paged_oldest_first(web) -> None:
    """A long-lived application's audit log comes a page at a time, by the last event's id."""
    client, supervisor = web.client(), web.token("supervisor")
    key = client.post("/api/v1/instances", headers=web.token("ivanova"),
                      json={"process_key": "medbook_issuance"}).json["business_key"]
    assert client.post(f"/api/v1/instances/{key}/cancel", headers=supervisor).status_code == 200
    whole = web.medflow.queries.history(key)
    assert len(whole) >= 5
    pages, after = [], ""
    while True:
        page = client.get(f"/api/v1/instances/{key}/history?limit=2{after}", headers=supervisor)
        assert page.status_code == 200 and len(page.json) <= 2
        pages += page.json
        if len(page.json) < 2:
            break
        after = f"&after_id={page.json[-1]['id']}"
    assert pages == whole
    assert [e["id"] for e in client.get(f"/api/v1/instances/{key}/history", headers=supervisor).json] == \
        [e["id"] for e in whole]
    wrong = client.get(f"/api/v1/instances/{key}/history?limit=0", headers=supervisor)
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "limit"


def test_messages_documents_and_roles(web) -> None:
    client = web.client()
    ivanova = web.token("ivanova")
    key = client.post("/api/v1/instances", headers=ivanova, json={"process_key": "medbook_issuance"}).json["business_key"]
    missing = client.post("/api/v1/messages", headers=ivanova, json={"name": "resubmission", "business_key": key})
    assert missing.status_code == 404 and missing.json["error"] == "message_not_matched"
    assert client.post("/api/v1/messages", headers=ivanova, json={"name": 1}).status_code == 422
    assert client.post("/api/v1/messages", headers=web.token("petrov"),
                       json={"name": "resubmission", "business_key": key}).status_code == 404
    doc = upload(client, ivanova)
    assert client.get(f"/api/v1/documents/{doc}", headers=ivanova).json["status"] == "Готово к проверке"
    assert client.get(f"/api/v1/documents/{doc}/content", headers=ivanova).data.startswith(b"%PDF")
    assert client.get(f"/api/v1/documents/{doc}", headers=web.token("petrov")).status_code == 404
    text = client.post("/api/v1/documents", headers=ivanova, data={"file": (io.BytesIO(b"hello"), "a.pdf")},
                       content_type="multipart/form-data").json
    assert text["status"] == "Отклонено" and "Недопустимый тип файла" in text["problems"][0]
    assert client.post("/api/v1/instances", headers=web.token("operator1"),
                       json={"process_key": "medbook_issuance"}).status_code == 403
    assert client.post(f"/api/v1/instances/{key}/cancel", headers=ivanova, json={"reason": "передумала"}).json["status"] == "cancelled"
    assert client.post(f"/api/v1/instances/{key}/cancel", headers=ivanova).status_code == 409


def test_definitions_deploy_and_lint(web) -> None:
    client = web.client()
    analyst, operator = web.token("analyst"), web.token("operator1")
    assert any(d["process_key"] == "medbook_issuance" for d in client.get("/api/v1/definitions", headers=operator).json)
    original = (PROJECT / "processes" / "refusal_and_resubmit.bpmn").read_bytes()
    assert client.post("/api/v1/definitions", headers=operator, data={"files": (io.BytesIO(original), "r.bpmn")},
                       content_type="multipart/form-data").status_code == 403
    broken = original.replace(b"working_days(fix_days)", b"P5D")
    lint = client.post("/api/v1/definitions/lint", headers=analyst,
                       data={"files": (io.BytesIO(broken), "refusal_and_resubmit.bpmn")}, content_type="multipart/form-data")
    assert lint.status_code == 200 and lint.json["problems"][0]["element_id"] == "deadline"
    refused = client.post("/api/v1/definitions", headers=analyst,
                          data={"files": (io.BytesIO(broken), "refusal_and_resubmit.bpmn")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and refused.json["problems"]
    changed = original.replace(b"working_days(fix_days)", b"working_days(fix_days + 1)")
    deployed = client.post("/api/v1/definitions", headers=analyst,
                           data={"files": (io.BytesIO(changed), "refusal_and_resubmit.bpmn")}, content_type="multipart/form-data")
    assert deployed.status_code == 201 and deployed.json[0]["version"] == 2
    notbpmn = client.post("/api/v1/definitions", headers=analyst, data={"files": (io.BytesIO(b"x"), "x.txt")},
                          content_type="multipart/form-data")
    assert notbpmn.status_code == 422


def test_calendar_and_clock(web) -> None:
    client = web.client()
    headers = web.token("operator1")
    result = client.get("/api/v1/calendar/add-working-days?from=2026-04-30&days=10", headers=headers).json
    assert result == {"from": "2026-04-30", "days": 10, "date": "2026-05-18"}
    assert client.get("/api/v1/calendar/add-working-days?from=30.04.2026&days=1", headers=headers).status_code == 422
    assert client.post("/api/v1/clock/advance", headers=headers, json={"amount": "1d"}).status_code == 403
    moved = client.post("/api/v1/clock/advance", headers=web.token("supervisor"), json={"amount": "2d"})
    assert moved.status_code == 200 and moved.json["now"].startswith("2026-04-25")
    assert client.post("/api/v1/clock/advance", headers=web.token("supervisor"), json={"amount": "soon"}).status_code == 422


def test_task_list_pages_with_a_keyset_cursor(tmp_path) -> None:
    from tests.web_harness import make_web as _make_web

    web = _make_web(tmp_path / "paging")
    for _ in range(3):
        web.medflow.runtime.start("medbook_issuance", {}, actor="ivanova")
    headers = web.token("ivanova")
    first = web.client().get("/api/v1/tasks?limit=2", headers=headers)
    assert first.status_code == 200 and len(first.json) == 2
    cursor = first.headers["X-Next-After"]
    second = web.client().get(f"/api/v1/tasks?limit=2&after={cursor}", headers=headers)
    assert second.status_code == 200 and len(second.json) == 1 and "X-Next-After" not in second.headers
    assert not {t["id"] for t in second.json} & {t["id"] for t in first.json}
    bad = web.client().get("/api/v1/tasks?after=%%%not-a-cursor", headers=headers)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "after"


def test_an_applicants_task_list_holds_their_own_tasks_whatever_the_others_have(tmp_path) -> None:
    """The page was cut from every applicant's open tasks and then filtered to the caller's: with
    others' drafts first, it came back empty with a cursor to page through them all."""
    from tests.web_harness import make_web as _make_web

    web = _make_web(tmp_path / "own")
    for _ in range(30):
        web.medflow.runtime.start("medbook_issuance", {}, actor="petrov")
    mine = {web.medflow.runtime.start("medbook_issuance", {}, actor="ivanova")["business_key"] for _ in range(2)}
    page = web.client().get("/api/v1/tasks?limit=5", headers=web.token("ivanova"))
    assert page.status_code == 200 and {t["business_key"] for t in page.json} == mine
    assert "X-Next-After" not in page.headers  # nothing more of hers to page through
