"""A supervisor names a deputy for an operator who goes on leave, in a real browser; the deputy then
finds the absent operator's task in their own worklist, marked «за operator1»."""

from __future__ import annotations

import pytest

from tests.browser.conftest import logged_in_page, success_after
from webui.demo import seed_applications

pytestmark = pytest.mark.browser


def test_a_supervisor_names_a_deputy_who_then_sees_the_absent_operators_task(live, browser, screenshots) -> None:  # type: ignore[no-untyped-def]
    web, base = live
    seed_applications(web.medflow)  # sidorova's medbook application waits for review
    task = next(t for t in web.medflow.queries.tasks(process_key="medbook_issuance") if t["element_id"] == "review")
    web.medflow.runtime.claim(task["id"], "operator1")

    # «commission» works only the accreditation queue: the medbook task is not theirs yet.
    deputy = logged_in_page(browser, base, "commission")
    deputy.goto(f"{base}/worklist/")
    assert deputy.locator(f"tr[data-task='{task['id']}']").count() == 0
    assert deputy.locator("#standing-in").count() == 0

    supervisor = logged_in_page(browser, base, "supervisor")
    supervisor.goto(f"{base}/worklist/")
    supervisor.click("#substitutions-link")
    supervisor.wait_for_url(f"{base}/worklist/substitutions")
    supervisor.select_option("#f-absent", "operator1")
    supervisor.select_option("#f-deputy", "commission")
    supervisor.fill("#f-starts_on", "2026-04-23")  # the simulated clock's today
    supervisor.fill("#f-ends_on", "2026-05-08")
    supervisor.fill("#f-reason", "отпуск")
    assert success_after(supervisor, supervisor.get_by_role("button", name="Назначить")) == \
        "Заместитель назначен: commission замещает operator1 с 23.04.2026 по 08.05.2026."
    row = supervisor.locator("#substitutions tbody tr[data-substitution]")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[:7] == ["Смирнова Анна (оператор) (operator1)", "Комиссия по аккредитации (commission)",
                         "23.04.2026", "08.05.2026", "отпуск", "идёт", "supervisor\n23.04.2026 12:00"]
    assert row.get_by_role("button", name="Отменить").is_visible()
    supervisor.screenshot(path=str(screenshots / "11-substitutions.png"), full_page=True)

    deputy.goto(f"{base}/worklist/")
    assert deputy.locator("#standing-in").inner_text().startswith("Вы замещаете: operator1 (по 08.05.2026).")
    mine = deputy.locator(f"tr[data-task='{task['id']}']")
    assert mine.count() == 1 and task["business_key"] in mine.inner_text()
    assert mine.locator(".standing-in").inner_text() == "за operator1"
    mine.get_by_role("link", name=task["business_key"]).click()
    deputy.wait_for_selector("#standing-in")
    assert "вы замещаете operator1 по 08.05.2026" in deputy.locator("#standing-in").inner_text()
    deputy.click("#claim")
    deputy.wait_for_selector("text=взята в работу")
    assert deputy.locator("#assignee").inner_text() == "commission"
    assert web.medflow.queries.task(task["id"])["assignee"] == "commission"
    assert not supervisor.errors and not deputy.errors  # type: ignore[attr-defined]
    supervisor.context.close()
    deputy.context.close()
