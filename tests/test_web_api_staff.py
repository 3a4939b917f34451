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
