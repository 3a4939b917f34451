"""`/monitor/staff`: the staff with their open tasks, who is away and who stands in; a departure
from the browser (disable, tasks to a colleague or back to the queues, substitutions ended),
refused by field with 422 and nothing changed; who may disable whom. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.models import AuditEvent
from tests.web_harness import staff_web

PAGE = "/monitor/staff"
PERIOD = {"starts_on": "2026-04-30", "ends_on": "2026-05-08"}  # running on the simulated clock's day


@pytest.fixture
def web(medflow):  # type: ignore[no-untyped-def]
    return staff_web(medflow)


def row(page: str, username: str) -> str:
    start = page.index(f'<tr data-user="{username}"')
    return page[start:page.index("</tr>", start)]


def flashed(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="flash flash-\w+" role="\w+">([^<]*)</div>', response.get_data(as_text=True))


def test_a_supervisor_sees_open_tasks_who_is_away_and_who_stands_in(web) -> None:
    web.medflow.substitutions.add("olga", "pavel", **PERIOD, actor="supervisor")
    page = web.login("supervisor").get(PAGE).get_data(as_text=True)
    olga, pavel, oleg = row(page, "olga"), row(page, "pavel"), row(page, "oleg")
    assert '<td data-label="Открытых задач">1</td>' in olga and '<td data-label="Открытых задач">0</td>' in oleg
    assert re.search(r'data-state="away">отсутствует по 08\.05\.2026, замещает pavel<', olga)
    assert 'data-state="active"' in pavel and ">замещает olga</span>" in pavel
    assert 'id="disable-olga"' in olga and "Оператор" in olga and "operators" in olga
    assert 'data-user="ivanova"' not in page  # applicants are not staff


def test_a_departure_hands_the_open_tasks_to_a_colleague_and_ends_the_substitutions(web) -> None:
    web.medflow.substitutions.add("olga", "pavel", **PERIOD, actor="supervisor")
    supervisor = web.login("supervisor")
    done = supervisor.post_form(f"{PAGE}/olga/disable", {"to": "oleg"}, follow_redirects=True)
    assert "Учётная запись olga отключена. Открытых задач передано сотруднику oleg: 1." in flashed(done)
    assert web.medflow.queries.task(web.task)["assignee"] == "oleg"
    assert not web.accounts.find("olga").active and web.medflow.substitutions.current() == []
    assert 'data-state="disabled"' in row(done.get_data(as_text=True), "olga")
    with web.medflow.db.read() as session:
        journal = session.execute(select(AuditEvent.actor, AuditEvent.new).where(
            AuditEvent.action == "account_disabled")).all()
    assert [tuple(entry) for entry in journal] == [("supervisor", "olga")]


def test_a_departing_deputy_is_named_so_that_someone_else_stands_in(web) -> None:
    web.medflow.substitutions.add("olga", "pavel", **PERIOD, actor="supervisor")
    done = web.login("supervisor").post_form(f"{PAGE}/pavel/disable", {"to": ""}, follow_redirects=True)
    messages = flashed(done)
    assert "Учётная запись pavel отключена. Открытых задач передано в очереди их групп: 0." in messages
    assert "pavel замещал(а) olga по 08.05.2026: назначьте другого заместителя." in messages


def test_to_the_queues_the_tasks_go_back_free(web) -> None:
    done = web.login("supervisor").post_form(f"{PAGE}/olga/disable", {}, follow_redirects=True)
    assert "Учётная запись olga отключена. Открытых задач передано в очереди их групп: 1." in flashed(done)
    assert web.medflow.queries.task(web.task)["assignee"] is None


@pytest.mark.parametrize(("to", "message"), [("nobody", "нет действующего сотрудника nobody"),
                                             ("olga", "нельзя передать задачи самому себе"),
                                             ("ivanova", "ivanova не работает с задачами")])
def test_a_refused_departure_is_422_at_the_rows_field_and_changes_nothing(web, to, message) -> None:
    response = web.login("supervisor").post_form(f"{PAGE}/olga/disable", {"to": to})
    assert response.status_code == 422
    olga = row(response.get_data(as_text=True), "olga")
    assert re.search(rf'<p class="field-error" id="f-to-olga-error">{message}</p>', olga)
    assert 'aria-invalid="true"' in olga
    assert web.accounts.find("olga").active and web.medflow.queries.task(web.task)["assignee"] == "olga"


def test_who_may_disable_whom(web) -> None:
    operator = web.login("oleg", "pass12345")
    assert operator.get(PAGE).status_code == 403
    assert operator.post_form(f"{PAGE}/olga/disable", {}).status_code == 403
    supervisor = web.login("supervisor")
    page = supervisor.get(PAGE).get_data(as_text=True)
    assert 'id="disable-supervisor"' not in page and 'id="disable-admin"' not in page
    assert supervisor.post_form(f"{PAGE}/supervisor/disable", {}).status_code == 403  # not oneself
    assert supervisor.post_form(f"{PAGE}/admin/disable", {}).status_code == 403
    assert supervisor.post_form(f"{PAGE}/nobody/disable", {}).status_code == 404
    assert supervisor.post_form(f"{PAGE}/ivanova/disable", {}).status_code == 404  # an applicant
    assert all(web.accounts.find(n).active for n in ("olga", "supervisor", "admin", "ivanova"))
    assert web.login("admin").post_form(f"{PAGE}/supervisor/disable", {}).status_code == 302
    assert not web.accounts.find("supervisor").active


def test_a_form_without_its_csrf_token_is_refused(web) -> None:
    response = web.login("supervisor").post(f"{PAGE}/olga/disable", data={"to": "oleg"})
    assert response.status_code == 400 and "Форма устарела" in response.get_data(as_text=True)
    assert web.accounts.find("olga").active


def test_a_disabled_account_cannot_log_in_until_enabled_again(web) -> None:
    olga = web.login("olga", "pass12345")
    assert olga.get("/worklist/").status_code == 200
    supervisor = web.login("supervisor")
    supervisor.post_form(f"{PAGE}/olga/disable", {})
    assert olga.get("/worklist/").status_code == 302  # her open session ends at its next request
    with pytest.raises(AssertionError):
        web.login("olga", "pass12345")
    page = supervisor.get(PAGE).get_data(as_text=True)
    assert f'action="{PAGE}/olga/enable"' in row(page, "olga")
    done = supervisor.post_form(f"{PAGE}/olga/enable", {}, follow_redirects=True)
    assert "Учётная запись olga включена." in flashed(done)
    assert web.login("olga", "pass12345").get("/worklist/").status_code == 200
