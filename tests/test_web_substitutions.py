"""The substitutions page (замещение): a supervisor names a deputy for anyone, an operator only for
their own absence; refusals come back by field with status 422 and save nothing; the deputy works
the absent person's group queue and assigned tasks while the substitution runs, and not after it
is cancelled. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine.clock import RealClock, install_clock
from engine.definitions import collect_files
from tests.conftest import DIAGRAMS, make_medflow
from tests.web_harness import web_for
from webui.substitutions import NOT_YOURS

PAGE = "/worklist/substitutions"
# The simulated clock starts on Thursday 30.04.2026 (tests/conftest.py START): a period from
# that day is running, one from the next week is planned.
PERIOD = {"starts_on": "2026-04-30", "ends_on": "2026-05-08"}


@pytest.fixture
def web(database_url, sim_clock):  # type: ignore[no-untyped-def]
    """The test diagrams; olga (group «operators») goes away, pavel (group «front») stands in."""
    medflow = make_medflow(database_url, sim_clock)
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    try:
        web = web_for(medflow)
        web.accounts.create("olga", "pass12345", "Ольга Отпускова", role="operator", groups=["operators"])
        web.accounts.create("pavel", "pass12345", "Павел Заместин", role="operator", groups=["front"])
        yield web
    finally:
        medflow.db.dispose()
        install_clock(RealClock())


def flashed(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="flash flash-\w+" role="\w+">([^<]*)</div>', response.get_data(as_text=True))


def row_of(page: str, substitution_id: int) -> str:
    start = page.index(f'<tr data-substitution="{substitution_id}">')
    return page[start:page.index("</tr>", start)]


def task_row(page: str, task_id: str) -> str | None:
    if f'data-task="{task_id}"' not in page:
        return None
    start = page.index(f'data-task="{task_id}"')
    return page[start:page.index("</tr>", start)]


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="f-{field}-error">([^<]*)</p>', page)
    return found.group(1) if found else ""


def selected(page: str, field: str) -> str | None:
    """The chosen option of a select (None: nothing chosen)."""
    select = page[page.index(f'id="f-{field}"'):]
    select = select[:select.index("</select>")]
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else None


def tasks_of_olga(web) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A task of olga's group queue (free) and one assigned to her in a group that is not hers."""
    group_task = web.medflow.runtime.start("review_loop", {})["open_tasks"][0]["id"]
    assigned = web.medflow.runtime.start("answer_or_expire", {})["open_tasks"][0]["id"]
    web.medflow.runtime.assign(assigned, "olga", "supervisor")
    return group_task, assigned


def test_a_supervisor_names_a_deputy_and_sees_the_row(web) -> None:
    supervisor = web.login("supervisor")
    page = supervisor.get(PAGE).get_data(as_text=True)
    assert "Назначить заместителя" in page and 'id="no-substitutions"' in page
    assert '<option value="olga" >Ольга Отпускова (olga)</option>' in page.split('id="f-deputy"')[0]
    assert 'value="supervisor"' not in page.split('id="f-deputy"')[1]  # not oneself as the deputy
    assert 'type="date" id="f-starts_on" name="starts_on" value="2026-04-30"' in page  # today, as the engine's zone

    response = supervisor.post_form(PAGE, {"absent": "olga", "deputy": "pavel", "reason": "отпуск", **PERIOD})
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    planned = supervisor.post_form(PAGE, {"absent": "operator1", "deputy": "operator2",
                                          "starts_on": "2026-05-12", "ends_on": "2026-05-15"})
    assert planned.status_code == 302
    shown = supervisor.get(PAGE)
    assert flashed(shown) == ["Заместитель назначен: pavel замещает olga с 30.04.2026 по 08.05.2026.",
                              "Заместитель назначен: operator2 замещает operator1 с 12.05.2026 по 15.05.2026."]
    running, later = web.medflow.substitutions.current()
    assert (running.absent, running.deputy, running.reason, running.created_by) == ("olga", "pavel", "отпуск", "supervisor")
    page = shown.get_data(as_text=True)
    row = row_of(page, running.id)
    assert "Ольга Отпускова" in row and "Павел Заместин" in row and "отпуск" in row
    assert "<td data-label=\"С\">30.04.2026</td>" in row and "<td data-label=\"По\">08.05.2026</td>" in row
    assert '<span class="status-pill ok">идёт</span>' in row and "supervisor" in row and "Отменить" in row
    assert "запланировано" in row_of(page, later.id) and "идёт" not in row_of(page, later.id)


@pytest.mark.parametrize(("who", "form", "field", "message"), [
    ("supervisor", {"absent": "olga", "deputy": "pavel", "starts_on": "2026-05-08", "ends_on": "2026-05-01"},
     "ends_on", "окончание раньше начала"),
    ("supervisor", {"absent": "olga", "deputy": "olga", **PERIOD}, "deputy", "нельзя замещать самого себя"),
    ("olga", {"absent": "operator1", "deputy": "pavel", **PERIOD}, "absent", NOT_YOURS),
])
def test_a_refused_add_is_422_with_the_message_at_its_field_and_saves_nothing(web, who, form, field, message) -> None:
    client = web.login(who, "pass12345" if who == "olga" else "demo12345")
    response = client.post_form(PAGE, {**form, "reason": "учёба"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, field) == message
    assert 'id="form-errors"' in page and f"<li>{message}</li>" in page  # the summary at the top too
    assert f'name="ends_on" value="{form["ends_on"]}"' in page and 'value="учёба"' in page  # kept as entered
    if who == "supervisor":
        assert selected(page, "absent") == form["absent"]
    else:  # an operator's absent field is their own name again, not editable
        assert '<input type="text" id="f-absent" name="absent" value="olga" readonly' in page
    assert selected(page, "deputy") == form["deputy"]
    assert "Traceback" not in page and web.medflow.substitutions.current() == []


def test_a_form_without_its_csrf_token_is_refused(web) -> None:
    client = web.login("supervisor")
    response = client.post(PAGE, data={"absent": "olga", "deputy": "pavel", **PERIOD})
    assert response.status_code == 400 and "Форма устарела" in response.get_data(as_text=True)
    assert web.medflow.substitutions.current() == []


def test_an_operator_names_a_deputy_for_their_own_absence(web) -> None:
    olga = web.login("olga", "pass12345")
    page = olga.get(PAGE).get_data(as_text=True)
    assert '<input type="text" id="f-absent" name="absent" value="olga" readonly' in page
    assert 'value="olga"' not in page[page.index('id="f-deputy"'):page.index("</select>", page.index('id="f-deputy"'))]
    response = olga.post_form(PAGE, {"absent": "olga", "deputy": "pavel", **PERIOD})
    assert response.status_code == 302
    [row] = web.medflow.substitutions.current()
    assert (row.absent, row.deputy, row.created_by) == ("olga", "pavel", "olga")
    assert "Отменить" in row_of(olga.get(PAGE).get_data(as_text=True), row.id)  # her own absence: she may cancel

    pavel = web.login("pavel", "pass12345")
    assert "Отменить" not in row_of(pavel.get(PAGE).get_data(as_text=True), row.id)  # the deputy sees, no more
    assert pavel.post_form(f"{PAGE}/{row.id}/cancel").status_code == 403
    assert f'data-substitution="{row.id}"' not in web.login("operator2").get(PAGE).get_data(as_text=True)
    assert web.medflow.substitutions.current() == [row]


def test_a_supervisor_cancels_and_the_engine_explains_what_cannot_be(web) -> None:
    row = web.medflow.substitutions.add("olga", "pavel", actor="olga", **PERIOD)
    supervisor = web.login("supervisor")
    response = supervisor.post_form(f"{PAGE}/{row.id}/cancel")
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    page = supervisor.get(PAGE)
    assert flashed(page) == ["Замещение отменено: pavel больше не замещает olga."]
    assert f'data-substitution="{row.id}"' not in page.get_data(as_text=True)
    assert web.medflow.substitutions.get(row.id).cancelled_by == "supervisor"

    again = supervisor.post_form(f"{PAGE}/{row.id}/cancel", follow_redirects=True)
    assert flashed(again) == [f"Замещение {row.id} уже отменено (supervisor)"]
    missing = supervisor.post_form(f"{PAGE}/987654/cancel", follow_redirects=True)
    assert flashed(missing) == ["Замещение 987654 не найдено"]
    huge = supervisor.post_form(f"{PAGE}/{10**30}/cancel", follow_redirects=True)  # beyond a 64-bit id
    assert huge.status_code == 200 and flashed(huge) == [f"Замещение {10**30} не найдено"]


def test_the_deputy_sees_the_absent_persons_work_while_the_substitution_runs(web) -> None:
    group_task, assigned = tasks_of_olga(web)
    pavel = web.login("pavel", "pass12345")
    page = pavel.get("/worklist/").get_data(as_text=True)
    assert 'href="/worklist/substitutions">Замещения</a>' in page
    assert task_row(page, group_task) is None and task_row(page, assigned) is None and "Вы замещаете" not in page
    assert pavel.get(f"/worklist/tasks/{assigned}").status_code == 403

    row = web.medflow.substitutions.add("olga", "pavel", actor="supervisor", **PERIOD)
    page = pavel.get("/worklist/").get_data(as_text=True)
    assert re.search(r"Вы замещаете:\s*<strong>olga</strong> \(по 08\.05\.2026\)", page)
    queue, hers = task_row(page, group_task), task_row(page, assigned)
    assert queue is not None and "за olga" not in queue and "Взять</button>" in queue
    assert hers is not None and ">за olga</span>" in hers and "Взять себе</button>" in hers
    task_page = pavel.get(f"/worklist/tasks/{assigned}")
    assert task_page.status_code == 200
    assert "вы замещаете olga по 08.05.2026" in task_page.get_data(as_text=True)

    web.medflow.substitutions.cancel(row.id, "supervisor")
    page = pavel.get("/worklist/").get_data(as_text=True)
    assert task_row(page, group_task) is None and task_row(page, assigned) is None
    assert "Вы замещаете" not in page and "за olga" not in page
    assert pavel.get(f"/worklist/tasks/{assigned}").status_code == 403


def test_a_planned_substitution_gives_nothing_before_its_first_day(web) -> None:
    _, assigned = tasks_of_olga(web)
    web.medflow.substitutions.add("olga", "pavel", "2026-05-04", "2026-05-08", actor="supervisor")
    pavel = web.login("pavel", "pass12345")
    assert task_row(pavel.get("/worklist/").get_data(as_text=True), assigned) is None
    web.medflow.clock.set(web.medflow.clock.now() + timedelta(days=4))  # Monday 04.05
    assert ">за olga</span>" in (task_row(pavel.get("/worklist/").get_data(as_text=True), assigned) or "")


def test_the_deputy_claims_and_completes_while_an_outsider_is_refused(web) -> None:
    group_task, assigned = tasks_of_olga(web)
    web.medflow.runtime.claim(group_task, "olga")
    web.medflow.substitutions.add("olga", "pavel", actor="supervisor", **PERIOD)
    outsider = web.login("operator2")  # medbook_operators: neither olga's group nor her deputy
    assert outsider.get(f"/worklist/tasks/{assigned}").status_code == 403
    assert outsider.post_form(f"/worklist/tasks/{assigned}/claim").status_code == 403
    assert web.medflow.queries.task(assigned)["assignee"] == "olga"

    pavel = web.login("pavel", "pass12345")
    claimed = pavel.post_form(f"/worklist/tasks/{group_task}/claim", follow_redirects=True)
    assert "взята в работу" in " ".join(flashed(claimed))
    assert web.medflow.queries.task(group_task)["assignee"] == "pavel"
    # The task page's form: taken over from olga and completed in one post.
    done = pavel.post_form(f"/worklist/tasks/{assigned}", {})
    assert done.status_code == 302 and done.headers["Location"] == "/worklist/"
    finished = web.medflow.queries.task(assigned)
    assert (finished["status"], finished["completed_by"]) == ("completed", "pavel")
    decided = pavel.post_form(f"/worklist/tasks/{group_task}", {"decision": "approve"})
    assert decided.status_code == 302 and web.medflow.queries.task(group_task)["status"] == "completed"


def test_a_task_page_says_who_is_away_beside_the_assignee_and_in_the_hand_over_list(web) -> None:
    web.accounts.create("oleg", "pass12345", "Олег Остающийся", role="operator", groups=["operators"])
    group_task, _ = tasks_of_olga(web)
    web.medflow.runtime.claim(group_task, "olga")
    supervisor = web.login("supervisor")
    before = supervisor.get(f"/worklist/tasks/{group_task}").get_data(as_text=True)
    assert 'id="assignee-away"' not in before and "отсутствует по" not in before
    web.medflow.substitutions.add("olga", "pavel", **PERIOD, actor="supervisor")
    page = supervisor.get(f"/worklist/tasks/{group_task}").get_data(as_text=True)
    assert re.search(r'id="assignee-away">отсутствует по 08\.05\.2026, замещает pavel<', page)
    options = page[page.index('id="assignee-select"'):page.index("</select>", page.index('id="assignee-select"'))]
    assert "(olga) — отсутствует по 08.05.2026, замещает pavel</option>" in options
    assert "(oleg)</option>" in options  # present: no note


def test_a_group_task_can_be_handed_to_the_deputy_of_an_absent_member_only_while_they_stand_in(web) -> None:
    """pavel is not in «operators»; while he stands in for olga, who is, he works that queue, so a
    supervisor may hand him its task — before and after, the hand-over is refused and changes nothing."""
    group_task, _ = tasks_of_olga(web)
    supervisor = web.login("supervisor")
    refused = supervisor.post_form(f"/worklist/tasks/{group_task}/assign", {"assignee": "pavel"}, follow_redirects=True)
    assert any(m.startswith("Передать можно только сотруднику группы") for m in flashed(refused))
    assert web.medflow.queries.task(group_task)["assignee"] is None
    page = supervisor.get(f"/worklist/tasks/{group_task}").get_data(as_text=True)
    assert 'value="pavel"' not in page

    substitution = web.medflow.substitutions.add("olga", "pavel", **PERIOD, actor="supervisor")
    page = supervisor.get(f"/worklist/tasks/{group_task}").get_data(as_text=True)
    options = page[page.index('id="assignee-select"'):page.index("</select>", page.index('id="assignee-select"'))]
    assert '<option value="pavel">Павел Заместин (pavel) — замещает olga</option>' in options
    handed = supervisor.post_form(f"/worklist/tasks/{group_task}/assign", {"assignee": "pavel"}, follow_redirects=True)
    assert "Задача передана: pavel." in flashed(handed)
    assert web.medflow.queries.task(group_task)["assignee"] == "pavel"

    other = web.medflow.runtime.start("review_loop", {})["open_tasks"][0]["id"]
    web.medflow.substitutions.cancel(substitution.id, "supervisor")
    refused = supervisor.post_form(f"/worklist/tasks/{other}/assign", {"assignee": "pavel"}, follow_redirects=True)
    assert any(m.startswith("Передать можно только сотруднику группы") for m in flashed(refused))
    assert web.medflow.queries.task(other)["assignee"] is None
