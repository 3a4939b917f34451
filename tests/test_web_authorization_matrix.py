"""Every page and API endpoint × every role × own/other's object: the expected status, as a policy
table (152-ФЗ need-to-know). An applicant never sees another applicant's application; staff see
applications through their tasks, supervisors through monitoring."""

from __future__ import annotations

import pytest

from tests.web_harness import make_web

ROLES = (None, "ivanova", "operator1", "analyst", "supervisor", "admin")
REDIRECT, OK, FORBIDDEN, MISSING, UNAUTHORIZED = 302, 200, 403, 404, 401

# path template → status for (anonymous, applicant, operator, analyst, supervisor, admin)
PAGES = {
    "/": (OK, OK, OK, OK, OK, OK),
    "/services/medbook_issuance": (OK, OK, OK, OK, OK, OK),
    "/applications": (REDIRECT, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/applications/{own}": (REDIRECT, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/applications/{other}": (REDIRECT, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/applications/{other}/form": (REDIRECT, MISSING, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/worklist/": (REDIRECT, FORBIDDEN, OK, FORBIDDEN, OK, OK),
    "/worklist/tasks/{other_draft_task}": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/worklist/substitutions": (REDIRECT, FORBIDDEN, OK, FORBIDDEN, OK, OK),
    "/modeler/": (REDIRECT, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, OK),
    "/modeler/processes/medbook_issuance": (REDIRECT, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, OK),
    "/modeler/forms": (REDIRECT, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, OK),
    "/monitor/": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/dashboard": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/incidents": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/report": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/report.csv": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/staff": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/staff/new": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/staff/operator1/edit": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/monitor/staff/supervisor/edit": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/monitor/staff/admin/edit": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "/monitor/staff/ivanova/edit": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, MISSING, MISSING),
    "/monitor/security": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/monitor/instances/{other}": (REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/account": (REDIRECT, OK, OK, OK, OK, OK),
}
API = {
    "/api/v1/me": (UNAUTHORIZED, OK, OK, OK, OK, OK),
    "/api/v1/instances": (UNAUTHORIZED, OK, FORBIDDEN, FORBIDDEN, OK, OK),
    "/api/v1/instances/{own}": (UNAUTHORIZED, OK, FORBIDDEN, FORBIDDEN, OK, OK),
    "/api/v1/instances/{other}": (UNAUTHORIZED, MISSING, FORBIDDEN, FORBIDDEN, OK, OK),
    "/api/v1/instances/{other}/history": (UNAUTHORIZED, MISSING, FORBIDDEN, FORBIDDEN, OK, OK),
    "/api/v1/substitutions": (UNAUTHORIZED, FORBIDDEN, OK, FORBIDDEN, OK, OK),
    "/api/v1/staff": (UNAUTHORIZED, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "/api/v1/security-events": (UNAUTHORIZED, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "/api/v1/tasks/{own_draft_task}": (UNAUTHORIZED, OK, MISSING, MISSING, MISSING, MISSING),
    "/api/v1/tasks/{other_draft_task}": (UNAUTHORIZED, MISSING, MISSING, MISSING, MISSING, MISSING),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    web = make_web(tmp_path_factory.mktemp("authz"))
    own = web.medflow.runtime.start("medbook_issuance", {}, actor="ivanova")
    other = web.medflow.runtime.start("medbook_issuance", {}, actor="petrov")
    names = {"own": own["business_key"], "other": other["business_key"],
             "own_draft_task": own["open_tasks"][0]["id"], "other_draft_task": other["open_tasks"][0]["id"]}
    # One login per role: logging in again and again would trip the login throttle.
    clients = {role: (web.login(role) if role else web.client()) for role in ROLES}
    tokens = {role: (web.token(role) if role else {}) for role in ROLES}
    return web, names, clients, tokens


@pytest.mark.parametrize("template", PAGES)
def test_pages(world, template):
    web, names, clients, _ = world
    path = template.format(**names)
    got = tuple(clients[role].get(path).status_code for role in ROLES)
    assert got == PAGES[template], f"{path}: {dict(zip(ROLES, got, strict=True))}"


@pytest.mark.parametrize("template", API)
def test_api(world, template):
    web, names, _, tokens = world
    path = template.format(**names)
    got = tuple(web.client().get(path, headers=tokens[role]).status_code for role in ROLES)
    assert got == API[template], f"{path}: {dict(zip(ROLES, got, strict=True))}"


def test_changes_to_other_peoples_things_are_refused_and_change_nothing(world):
    web, names, clients, tokens = world
    before = web.medflow.queries.instance(names["other"], with_data=False)
    applicant = clients["ivanova"]
    assert applicant.post_form(f"/applications/{names['other']}/form", {}).status_code == MISSING
    assert web.client().post(f"/api/v1/instances/{names['other']}/cancel", json={},
                             headers=tokens["ivanova"]).status_code == MISSING
    assert web.client().post(f"/api/v1/tasks/{names['other_draft_task']}/complete", json={},
                             headers=tokens["ivanova"]).status_code == MISSING
    assert web.client().post(f"/api/v1/tasks/{names['other_draft_task']}/claim", json={},
                             headers=tokens["ivanova"]).status_code == MISSING
    assert clients["operator1"].post_form(f"/monitor/instances/{names['other']}/cancel", {}).status_code == FORBIDDEN
    assert clients["operator1"].post_form("/modeler/deploy", {}).status_code == FORBIDDEN
    assert web.client().post("/api/v1/clock/advance", json={"amount": "1d"},
                             headers=tokens["ivanova"]).status_code == FORBIDDEN
    # Accounts: an operator makes none and edits none; a supervisor does not touch an admin's.
    staff = [p.to_dict() for p in web.accounts.staff()]
    assert clients["operator1"].post_form("/monitor/staff/new", {"username": "x1", "password": "pass12345",
                                                                 "full_name": "X", "role": "operator"}
                                          ).status_code == FORBIDDEN
    assert web.client().post("/api/v1/staff", json={"username": "x1", "password": "pass12345", "full_name": "X",
                                                    "role": "operator"}, headers=tokens["operator1"]
                             ).status_code == FORBIDDEN
    assert web.client().patch("/api/v1/staff/admin", json={"role": "operator"},
                              headers=tokens["supervisor"]).status_code == FORBIDDEN
    assert clients["supervisor"].post_form("/monitor/staff/admin/password", {"password": "pass12345x",
                                                                             "password_again": "pass12345x"}
                                           ).status_code == FORBIDDEN
    assert [p.to_dict() for p in web.accounts.staff()] == staff
    after = web.medflow.queries.instance(names["other"], with_data=False)
    assert (after["status"], after["steps"], after["open_tasks"]) == (before["status"], before["steps"], before["open_tasks"])


def test_an_applicants_task_list_holds_only_their_own_drafts(world):
    web, names, _, tokens = world
    listed = {t["id"] for t in web.client().get("/api/v1/tasks", headers=tokens["ivanova"]).json}
    assert names["own_draft_task"] in listed
    assert names["other_draft_task"] not in listed
    petrov = web.token("petrov")
    assert names["other_draft_task"] in {t["id"] for t in web.client().get("/api/v1/tasks", headers=petrov).json}
