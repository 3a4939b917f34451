"""The operator worklist: visibility by group, filters, SLA badges, claim/unclaim/hand over,
completing with validation, conflicts explained."""

from __future__ import annotations

import re

import pytest

from tests.test_web_portal import start, submit
from tests.web_harness import make_web, medbook_post


@pytest.fixture()
def web(tmp_path):
    web = make_web(tmp_path)
    web.accounts.create("frmr", "pass12345", "Оператор ФРМР", role="operator", groups=["frmr_operators"])
    return web


def submitted(web, user: str = "ivanova", person: int = 0) -> tuple[str, str]:
    client = web.login(user)
    key = start(client)
    assert submit(client, key, medbook_post(person)).status_code == 302
    task = web.medflow.queries.tasks(business_key=key)[0]
    return key, task["id"]


def test_operator_sees_tasks_of_own_groups_with_sla_badge(web) -> None:
    key, task_id = submitted(web)
    page = web.login("operator1").get("/worklist/").get_data(as_text=True)
    assert key in page and "Иванова Мария Петровна" in page
    assert "осталось 10 раб. дней" in page and "sla-ok" in page and "до 08.05.2026" in page
    assert key not in web.login("frmr", "pass12345").get("/worklist/").get_data(as_text=True)
    assert web.login("frmr", "pass12345").get(f"/worklist/tasks/{task_id}").status_code == 403
    assert key in web.login("supervisor").get("/worklist/").get_data(as_text=True)


def test_badges_turn_amber_then_red(web) -> None:
    key, _ = submitted(web)
    clock = web.medflow.clock
    from datetime import timedelta

    clock.set(clock.now() + timedelta(days=14))  # 07.05: the deadline 08.05 is one working day away
    page = web.login("operator1").get("/worklist/").get_data(as_text=True)
    assert "sla-near" in page
    clock.set(clock.now() + timedelta(days=5))
    page = web.login("operator1").get("/worklist/?overdue=1").get_data(as_text=True)
    assert "sla-overdue" in page and "просрочено на" in page and key in page


def test_filters(web) -> None:
    key, _ = submitted(web)
    client = web.login("operator1")
    assert key in client.get("/worklist/?process=medbook_issuance").get_data(as_text=True)
    assert key not in client.get("/worklist/?process=accreditation").get_data(as_text=True)
    assert key in client.get(f"/worklist/?q={key}").get_data(as_text=True)
    assert key in client.get("/worklist/?q=иванова").get_data(as_text=True)
    assert key not in client.get("/worklist/?q=Кузнецов").get_data(as_text=True)
    assert key not in client.get("/worklist/?due_before=2026-05-01").get_data(as_text=True)
    assert key in client.get("/worklist/?due_before=2026-05-08").get_data(as_text=True)
    assert key not in client.get("/worklist/?view=mine").get_data(as_text=True)
    assert key in client.get("/worklist/?view=free").get_data(as_text=True)


def test_claim_conflict_and_hand_over(web) -> None:
    _, task_id = submitted(web)
    first, second = web.login("operator1"), web.login("operator2")
    page = first.get(f"/worklist/tasks/{task_id}").get_data(as_text=True)
    assert "Иванова" in page and "passport.pdf" in page and 'id="claim"' in page
    first.post_form(f"/worklist/tasks/{task_id}/claim")
    conflict = second.post_form(f"/worklist/tasks/{task_id}/claim", follow_redirects=True).get_data(as_text=True)
    assert "уже взял в работу operator1" in conflict
    first.post_form(f"/worklist/tasks/{task_id}/assign", {"assignee": "operator2"})
    assert web.medflow.queries.task(task_id)["assignee"] == "operator2"
    outsider = first.post_form(f"/worklist/tasks/{task_id}/assign", {"assignee": "frmr"}, follow_redirects=True)
    assert "только сотруднику группы" in outsider.get_data(as_text=True)
    second.post_form(f"/worklist/tasks/{task_id}/unclaim")
    assert web.medflow.queries.task(task_id)["assignee"] is None


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"])
def test_going_back_after_an_action_stays_on_this_site(web, back) -> None:
    _, task_id = submitted(web)
    client = web.login("operator1")
    response = client.post_form(f"/worklist/tasks/{task_id}/claim", {"back": back})
    assert response.headers["Location"] == f"/worklist/tasks/{task_id}"
    response = client.post_form(f"/worklist/tasks/{task_id}/unclaim", {"back": "/worklist/?view=mine"})
    assert response.headers["Location"] == "/worklist/?view=mine"


def test_complete_with_validation_then_conflict_is_explained(web) -> None:
    key, task_id = submitted(web)
    client = web.login("operator1")
    client.post_form(f"/worklist/tasks/{task_id}/claim")
    page = client.get(f"/worklist/tasks/{task_id}").get_data(as_text=True)
    assert 'name="decision"' in page and 'name="items"' in page and "Сохранить решение" in page
    bad = client.post_form(f"/worklist/tasks/{task_id}", {"decision": "request_correction"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert re.search(r'id="f-items-error"\s*>[^<]+', text) and re.search(r'id="f-reason-error"\s*>[^<]+', text)
    done = client.post_form(f"/worklist/tasks/{task_id}", {"decision": "request_correction",
                                                           "items": "documents.oms_scan", "reason": "Нечитаемо"})
    assert done.status_code == 302
    assert web.medflow.queries.instance(key)["portal_status"] == "Заявление требует исправления"
    again = client.post_form(f"/worklist/tasks/{task_id}", {"decision": "approve"}, follow_redirects=True)
    text = again.get_data(as_text=True)
    assert "уже выполнена" in text and "operator1" in text and "Traceback" not in text


def test_completed_by_someone_else_meanwhile(web) -> None:
    _, task_id = submitted(web)
    client = web.login("operator1")
    page = client.get(f"/worklist/tasks/{task_id}")
    assert page.status_code == 200
    web.medflow.runtime.claim(task_id, "operator2")
    web.medflow.runtime.complete(task_id, {"decision": "approve"}, user="operator2")
    response = client.post_form(f"/worklist/tasks/{task_id}/claim", follow_redirects=True)
    assert "уже выполнена: operator2" in response.get_data(as_text=True)


def test_applicants_form_is_not_an_operator_task(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    draft = web.medflow.queries.tasks(business_key=key)[0]
    assert draft["candidate_group"] == "applicants"
    assert web.login("supervisor").get(f"/worklist/tasks/{draft['id']}").status_code == 403
    assert key not in web.login("supervisor").get("/worklist/").get_data(as_text=True)


def test_the_list_reads_the_same_statements_for_one_row_or_two(web) -> None:
    """Each row's applicant name was read by loading its application (2–5 ms apiece, a second for
    200 rows); now one query for the page, whatever the number of rows."""
    from tests.medflow_harness import recorded_statements

    client = web.login("operator1")
    submitted(web, "ivanova", 0)
    with recorded_statements(web.medflow.db) as one:
        first = client.get("/worklist/").get_data(as_text=True)
    submitted(web, "petrov", 1)
    with recorded_statements(web.medflow.db) as two:
        page = client.get("/worklist/").get_data(as_text=True)
    assert first.count('<tr data-task=') == 1 and page.count('<tr data-task=') == 2
    assert len(two) == len(one)
    assert "Иванова Мария Петровна" in page
