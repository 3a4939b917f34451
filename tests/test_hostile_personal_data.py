"""Personal data (СНИЛС, passport) never appears in full where the viewer does not need it:
API lists, the event history, the supervisor's monitor page, the audit table and the logs.

An application is submitted through the API with a demo applicant's real-format identifiers; then
every such view is fetched and searched for the full values in any common spelling. Views whose
reader must compare the value with a document (the operator's task form, the applicant's own
application) are deliberately not checked here.
"""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import text

from handlers.demo_registry_data import demo_applicant
from tests.medflow_harness import sample_file
from tests.web_harness import make_web

PERSON = demo_applicant(0)


def _spellings() -> list[str]:
    snils, passport = PERSON["snils"], PERSON["passport"]
    digits = "".join(c for c in passport if c.isdigit())
    return [snils, f"{snils[:3]}-{snils[3:6]}-{snils[6:9]} {snils[9:]}", passport, digits,
            f"{digits[:2]} {digits[2:4]} {digits[4:]}"]


def _leaks(body: str) -> list[str]:
    return [value for value in _spellings() if value in body]


@pytest.fixture
def submitted(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    web = make_web(tmp_path)
    client, applicant = web.client(), web.token("ivanova")

    def upload(name: str, kind: str) -> str:
        response = client.post("/api/v1/documents", headers=applicant, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(sample_file(kind)), name)})
        assert response.status_code == 201, response.json
        return response.json["id"]

    started = client.post("/api/v1/instances", headers=applicant, json={"process_key": "medbook_issuance"}).json
    (draft,) = client.get("/api/v1/tasks", headers=applicant).json
    data = {"filed_by": "self", "applicant": {**PERSON, "phone": "+79161234567"},
            "medbook": {"type": "regular", "work_category": "medical"},
            "documents": {"passport_scan": upload("passport.pdf", "pdf"), "oms_scan": upload("oms.jpg", "jpeg")},
            "consent_personal_data": True}
    done = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=applicant, json={"data": data})
    assert done.status_code == 200, done.json
    assert _leaks(str(web.medflow.queries.instance(started["business_key"])["data"])), "the data holds the values"
    return web, client, started


def test_api_lists_and_history_never_show_full_identifiers(submitted):
    web, client, started = submitted
    supervisor, operator = web.token("supervisor"), web.token("operator1")
    views = {
        "GET /instances (supervisor)": client.get("/api/v1/instances", headers=supervisor),
        "GET /tasks (operator)": client.get("/api/v1/tasks", headers=operator),
        "GET /instances/<ref>/history": client.get(f"/api/v1/instances/{started['business_key']}/history",
                                                   headers=supervisor),
    }
    for name, response in views.items():
        assert response.status_code == 200, (name, response.status_code)
    assert {name: _leaks(r.get_data(as_text=True)) for name, r in views.items()} == dict.fromkeys(views, [])


def test_monitor_page_and_worklist_mask_identifiers(submitted):
    web, _client, started = submitted
    browser = web.login("supervisor")
    page = browser.get(f"/monitor/instances/{started['business_key']}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert _leaks(body) == []
    assert PERSON["snils"][-2:] in body  # masked, not dropped: the last digits tell applications apart
    worklist = web.login("operator1").get("/worklist/")
    assert worklist.status_code == 200 and _leaks(worklist.get_data(as_text=True)) == []


def test_audit_table_and_logs_never_hold_full_identifiers(submitted, caplog):
    web, _client, _started = submitted
    with web.medflow.db.read() as session:
        rows = session.execute(text("SELECT actor, action, old, new, details FROM audit_events")).all()
    assert rows and [r for r in rows if _leaks(repr(tuple(r)))] == []
    assert [r.getMessage() for r in caplog.records if _leaks(r.getMessage())] == []
