"""A supervisor adds an operator from the staff page in a real browser — a mistyped password comes
back at its field with the rest of the form kept — and the new operator logs in and finds the
group's tasks in the worklist."""

from __future__ import annotations

import pytest

from tests.browser.conftest import logged_in_page, success_after
from webui.demo import seed_applications

pytestmark = pytest.mark.browser


def test_a_supervisor_adds_an_operator_who_then_finds_the_groups_tasks(live, browser, screenshots) -> None:  # type: ignore[no-untyped-def]
    web, base = live
    seed_applications(web.medflow)
    waiting = [t for t in web.medflow.queries.tasks(groups=["medbook_operators"]) if t["assignee"] is None]
    assert waiting, "the demo applications leave medbook tasks in the queue"

    supervisor = logged_in_page(browser, base, "supervisor")
    supervisor.goto(f"{base}/monitor/staff")
    supervisor.click("#add-member")
    supervisor.wait_for_url(f"{base}/monitor/staff/new")
    typed = {"#f-username": "nina", "#f-full_name": "Нина Новая", "#f-email": "nina@example.ru"}
    for field, value in typed.items():
        supervisor.fill(field, value)
    supervisor.select_option("#f-role", "operator")
    supervisor.check("input[name='groups'][value='medbook_operators']")
    # The diagrams' «applicants» lane holds the applicants' own tasks: no staff member's group.
    assert supervisor.locator("input[name='groups'][value='applicants']").count() == 0
    supervisor.fill("#f-password", "first-pass1")
    supervisor.fill("#f-password_again", "first-pass2")
    supervisor.get_by_role("button", name="Создать").click()
    supervisor.wait_for_selector("#f-password_again-error")
    assert supervisor.locator("#f-password_again-error").inner_text() == "Пароли не совпадают"
    assert supervisor.input_value("#f-full_name") == "Нина Новая"
    assert supervisor.is_checked("input[name='groups'][value='medbook_operators']")
    assert supervisor.input_value("#f-password") == ""  # a password is never sent back
    supervisor.screenshot(path=str(screenshots / "14-staff-account.png"), full_page=True)

    supervisor.fill("#f-password", "first-pass1")
    supervisor.fill("#f-password_again", "first-pass1")
    assert success_after(supervisor, supervisor.get_by_role("button", name="Создать")) == \
        "Учётная запись nina создана. Сообщите сотруднику пароль лично."
    row = supervisor.locator("tr[data-user='nina']")
    assert row.locator("td[data-label='Группы']").inner_text() == "medbook_operators"
    assert not supervisor.errors  # type: ignore[attr-defined]
    supervisor.context.close()

    nina = browser.new_context(locale="ru-RU").new_page()
    nina.goto(f"{base}/login")
    nina.fill("#username", "nina")
    nina.fill("#password", "first-pass1")
    nina.click("button[type=submit]")
    nina.wait_for_url(f"{base}/account")  # the supervisor's password is for the first login only
    assert nina.locator("#temporary-password").is_visible()
    nina.fill("#cp", "first-pass1")
    nina.fill("#np", "her-own-pass2")
    nina.locator("#password button[type=submit]").click()
    nina.wait_for_url(f"{base}/worklist/")
    listed = set(nina.locator("tr[data-task]").evaluate_all("rows => rows.map(r => r.dataset.task)"))
    group = {t["id"] for t in web.medflow.queries.tasks(groups=["medbook_operators"], limit=500)}
    assert listed & {t["id"] for t in waiting} and listed <= group  # her group's queue, nothing else
    nina.context.close()
