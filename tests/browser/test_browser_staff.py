"""A supervisor disables a departing operator on the staff page, in a real browser: the operator's
claimed task goes to the colleague chosen in the row, and the row then says «отключён»."""

from __future__ import annotations

import pytest

from tests.browser.conftest import logged_in_page, success_after
from webui.demo import seed_applications

pytestmark = pytest.mark.browser


def test_a_supervisor_disables_a_departing_operator_and_hands_over_their_task(live, browser, screenshots) -> None:  # type: ignore[no-untyped-def]
    web, base = live
    seed_applications(web.medflow)
    task = next(t for t in web.medflow.queries.tasks(process_key="medbook_issuance") if t["element_id"] == "review")
    web.medflow.runtime.claim(task["id"], "operator2")

    supervisor = logged_in_page(browser, base, "supervisor")
    supervisor.goto(f"{base}/monitor/")
    supervisor.click("#staff-link")
    supervisor.wait_for_url(f"{base}/monitor/staff")
    row = supervisor.locator("tr[data-user='operator2']")
    assert row.locator("td[data-label='Открытых задач']").inner_text() == "1"
    assert row.locator("[data-state]").inner_text() == "работает"
    assert supervisor.locator("#disable-supervisor").count() == 0  # not oneself
    supervisor.screenshot(path=str(screenshots / "13-staff.png"), full_page=True)

    row.locator("#f-to-operator2").select_option("operator1")
    asked: list[str] = []
    supervisor.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Отключить").click()  # asked first; «Отмена» sends nothing
    assert asked == ["Отключить учётную запись operator2 (Орлов Денис (оператор))? Открытые задачи (1) перейдут "
                     "выбранному коллеге или в очереди групп, замещения сотрудника отменятся."]
    assert web.accounts.find("operator2").active
    supervisor.once("dialog", lambda dialog: dialog.accept())
    assert success_after(supervisor, row.get_by_role("button", name="Отключить")) == \
        "Учётная запись operator2 отключена. Открытых задач передано сотруднику operator1: 1."
    row = supervisor.locator("tr[data-user='operator2']")
    assert row.locator("[data-state]").inner_text() == "отключён"
    assert row.get_by_role("button", name="Включить").is_visible()
    assert web.medflow.queries.task(task["id"])["assignee"] == "operator1"
    assert not web.accounts.find("operator2").active
    assert not supervisor.errors  # type: ignore[attr-defined]
    supervisor.context.close()
