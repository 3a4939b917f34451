"""A supervisor opens the period report from the monitor in a real browser, sets a period (first a
wrong one, refused at its field), reads the figures per procedure and downloads the CSV."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.clock import RealClock, SimulatedClock, install_clock
from engine.definitions import collect_files
from tests.browser.conftest import logged_in_page, serving
from tests.conftest import DIAGRAMS, START, make_medflow
from tests.web_harness import Web, web_for

pytestmark = pytest.mark.browser

HEADER = "Номер заявления;Процедура;Подано;Состояние;Статус для заявителя;Завершено;Рабочих дней"


@pytest.fixture
def month(tmp_path: Path) -> Iterator[tuple[Web, str]]:
    """A live server on 30.04.2026 with two reviews that day: one approved, one still waiting."""
    medflow = make_medflow(f"sqlite:///{tmp_path / 'medflow.db'}", SimulatedClock(START))
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    done = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    medflow.runtime.complete(done["open_tasks"][0]["id"], {"decision": "approve"}, user="op")
    medflow.runtime.start("review_loop", {"applicant_name": "Б"})
    web = web_for(medflow)
    try:
        with serving(web) as base:
            yield web, base
    finally:
        medflow.db.dispose()
        install_clock(RealClock())


def test_a_supervisor_reads_the_months_figures_and_downloads_the_csv(browser, month, screenshots) -> None:  # type: ignore[no-untyped-def]
    web, base = month
    page = logged_in_page(browser, base, "supervisor", downloads=True)

    page.goto(f"{base}/monitor/")
    page.click("text=Отчёт за период")
    page.wait_for_url(f"{base}/monitor/report")
    assert page.input_value("#f-from") == "2026-04-01" and page.input_value("#f-to") == "2026-04-30"

    page.fill("#f-from", "2026-04-30")
    page.fill("#f-to", "2026-04-01")
    page.get_by_role("button", name="Показать").click()
    page.wait_for_selector("#f-to-error")
    assert page.locator("#f-to-error").inner_text() == "окончание раньше начала"
    assert page.locator("#report-table").count() == 0

    page.fill("#f-to", "2026-04-30")
    page.get_by_role("button", name="Показать").click()
    page.wait_for_selector("#report-table")
    assert page.locator("#report-period").inner_text() == "30.04.2026 — 30.04.2026"
    review = page.locator("#report-table tbody tr[data-process='review_loop']")
    assert review.locator("td").all_inner_texts() == [
        "Проверка с доработкой", "2", "1", "Услуга оказана: 1", "0", "0", "1", "100 % (1 из 1)"]
    assert page.locator("#report-totals td").all_inner_texts()[:3] == ["Всего", "2", "1"]
    page.screenshot(path=str(screenshots / "12-report.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#report-csv")
    download = download_info.value
    assert download.suggested_filename == "report-2026-04-30-2026-04-30.csv"
    lines = Path(download.path()).read_bytes().decode("utf-8").splitlines()
    assert lines[0] == "\ufeff" + HEADER and len(lines) == 3  # the header, then the two applications
    assert not page.errors
    page.context.close()
