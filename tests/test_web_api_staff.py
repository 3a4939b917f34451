"""`/api/v1/staff`: the staff list, and departures from an HR system — disable (tasks to a colleague
or the queues), safe to repeat; enable; refusals by field (422), 403 and 404 that change nothing.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.web_harness import staff_web

PERIOD = {"starts_on": "2026-04-30", "ends_on": "2026-05-08"}


@pytest.fixture
def web(medflow):  # type: ignore[no-untyped-def]
    return staff_web(medflow)


def test_the_staff_list_says_who_holds_what_and_who_is_away(web) -> None:
    web.medflow.substitutions.add("olga", "pavel", **PERIOD, actor="supervisor")
    answer = web.client().get("/api/v1/staff", headers=web.token("supervisor"))
    assert answer.status_code == 200
    people = {p["username"]: p for p in answer.json}
    assert people["olga"]["open_tasks"] == 1 and people["olga"]["away"] == {"until": "2026-05-08", "deputy": "pavel"}
    assert people["pavel"]["standing_in_for"] == ["olga"] and people["pavel"]["away"] is None
    assert people["olga"]["groups"] == ["operators"] and people["olga"]["active"] is True
    assert "ivanova" not in people  # applicants are not staff
    assert web.client().get("/api/v1/staff", headers=web.token("operator1")).status_code == 403


def test_an_hr_system_disables_a_leaver_and_may_send_it_again(web) -> None:
    client, headers = web.client(), web.token("supervisor")
    first = client.post("/api/v1/staff/olga/disable", json={"to": "oleg"}, headers=headers)
    assert first.status_code == 200, first.json
    assert (first.json["username"], first.json["hand_over_to"], first.json["tasks_moved"]) == ("olga", "oleg", 1)
    assert web.medflow.queries.task(web.task)["assignee"] == "oleg" and not web.accounts.find("olga").active
    again = client.post("/api/v1/staff/olga/disable", json={"to": "oleg"}, headers=headers)
    assert again.status_code == 200 and again.json["tasks_moved"] == 0
    assert web.medflow.queries.task(web.task)["assignee"] == "oleg"
    back = client.post("/api/v1/staff/olga/enable", headers=headers)
    assert back.status_code == 200 and back.json == {"username": "olga", "active": True}
    assert web.accounts.find("olga").active


def test_to_the_queues_with_an_empty_body(web) -> None:
    answer = web.client().post("/api/v1/staff/olga/disable", json={}, headers=web.token("supervisor"))
    assert answer.status_code == 200 and answer.json["hand_over_to"] is None and answer.json["tasks_moved"] == 1
    assert web.medflow.queries.task(web.task)["assignee"] is None


@pytest.mark.parametrize(("body", "message"), [({"to": "nobody"}, "нет действующего сотрудника nobody"),
                                               ({"to": "olga"}, "нельзя передать задачи самому себе"),
                                               ({"to": 7}, "ожидается строка")])
def test_a_refused_departure_is_422_by_field_and_changes_nothing(web, body, message) -> None:
    answer = web.client().post("/api/v1/staff/olga/disable", json=body, headers=web.token("supervisor"))
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "to" and answer.json["errors"][0]["message"] == message
    assert web.accounts.find("olga").active and web.medflow.queries.task(web.task)["assignee"] == "olga"


@pytest.mark.parametrize(("who", "target", "status"), [("operator1", "olga", 403), ("supervisor", "supervisor", 403),
                                                       ("supervisor", "admin", 403), ("supervisor", "nobody", 404),
                                                       ("supervisor", "ivanova", 404)])
def test_who_may_disable_whom(web, who, target, status) -> None:
    client = web.client()
    assert client.post(f"/api/v1/staff/{target}/disable", json={}, headers=web.token(who)).status_code == status
    assert client.post(f"/api/v1/staff/{target}/enable", headers=web.token(who)).status_code == status
    found = web.accounts.find(target)
    assert found is None or found.active
    assert web.medflow.queries.task(web.task)["assignee"] == "olga"


NINA = {"username": "nina", "password": "first-pass1", "full_name": "Нина Новая", "email": "nina@example.ru",
        "role": "operator", "groups": ["operators"]}


def test_an_hr_system_adds_edits_and_resets_a_staff_account(web) -> None:
    client, headers = web.client(), web.token("supervisor")
    made = client.post("/api/v1/staff", json=NINA, headers=headers)
    assert made.status_code == 201, made.json
    assert made.json == {"id": made.json["id"], "username": "nina", "full_name": "Нина Новая",
                         "email": "nina@example.ru", "role": "operator", "groups": ["operators"], "active": True}
    listed = {p["username"]: p for p in client.get("/api/v1/staff", headers=headers).json}
    assert listed["nina"]["password_temporary"] and not listed["olga"]["password_temporary"]
    again = client.post("/api/v1/staff", json=NINA, headers=headers)
    assert again.status_code == 409 and again.json["error"] == "conflict"
    changed = client.patch("/api/v1/staff/nina", json={"groups": ["front", "operators"], "email": None},
                           headers=headers)
    assert changed.status_code == 200 and (changed.json["groups"], changed.json["email"]) == (["front", "operators"],
                                                                                             None)
    assert changed.json["full_name"] == "Нина Новая"  # what the body does not name stays
    reset = client.post("/api/v1/staff/nina/password", json={"password": "new-pass-2"}, headers=headers)
    assert reset.status_code == 200 and reset.json == {"username": "nina", "password_changed": True}
    assert web.accounts.authenticate("nina", "new-pass-2").groups == ("front", "operators")


def test_a_changed_role_holds_for_the_persons_token_at_once(web) -> None:
    olga = web.token("olga")
    assert web.client().get("/api/v1/me", headers=olga).json["role"] == "operator"  # her account is now cached
    changed = web.client().patch("/api/v1/staff/olga", json={"role": "analyst"}, headers=web.token("supervisor"))
    assert changed.status_code == 200
    assert web.client().get("/api/v1/me", headers=olga).json["role"] == "analyst"


@pytest.mark.parametrize(("method", "path", "body", "fields"), [
    ("post", "/api/v1/staff", {**NINA, "password": "short", "email": "nina@"}, ["email", "password"]),
    ("post", "/api/v1/staff", {**NINA, "role": "admin"}, ["role"]),
    ("post", "/api/v1/staff", {**NINA, "username": ["nina"], "groups": "operators"}, ["groups", "username"]),
    ("patch", "/api/v1/staff/olga", {"full_name": "", "groups": ["a b"]}, ["full_name", "groups"]),
    ("patch", "/api/v1/staff/olga", {"active": False, "username": "olga2"}, ["active", "username"]),
    ("patch", "/api/v1/staff/olga", {"role": "supervisor"}, ["role"]),
    ("post", "/api/v1/staff/olga/password", {"password": 12345678}, ["password"]),
    ("post", "/api/v1/staff/olga/password", {}, ["password"]),
])
def test_a_refused_account_change_is_422_by_field_and_changes_nothing(web, method, path, body, fields) -> None:
    before = [p.to_dict() for p in web.accounts.staff()]
    answer = getattr(web.client(), method)(path, json=body, headers=web.token("supervisor"))
    assert answer.status_code == 422, answer.json
    assert sorted(e["field"] for e in answer.json["errors"]) == fields
    assert [p.to_dict() for p in web.accounts.staff()] == before
    assert web.accounts.authenticate("olga", "pass12345").username == "olga"


@pytest.mark.parametrize(("who", "path", "status"), [
    ("operator1", "/api/v1/staff/olga", 403), ("supervisor", "/api/v1/staff/admin", 403),
    ("supervisor", "/api/v1/staff/supervisor", 403), ("supervisor", "/api/v1/staff/ivanova", 404),
    ("supervisor", "/api/v1/staff/nobody", 404)])
def test_who_may_edit_whom(web, who, path, status) -> None:
    before = [p.to_dict() for p in web.accounts.staff()]
    client, headers = web.client(), web.token(who)
    assert client.patch(path, json={"full_name": "Кто-то"}, headers=headers).status_code == status
    assert client.post(f"{path}/password", json={"password": "new-pass-2"}, headers=headers).status_code == status
    assert [p.to_dict() for p in web.accounts.staff()] == before
    assert client.post("/api/v1/staff", json=NINA, headers=web.token("operator1")).status_code == 403
    assert web.accounts.find("nina") is None
