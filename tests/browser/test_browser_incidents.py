"""A supervisor retries a registry outage from the incidents page in a real browser: one group,
a rate typed into its form, one click."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine.clock import RealClock, SimulatedClock, install_clock
from engine.definitions import collect_files
from tests import engine_test_handlers as handlers
from tests.browser.conftest import logged_in_page, serving, success_after
from tests.conftest import DIAGRAMS, START, make_medflow
from tests.web_harness import Web, web_for

pytestmark = pytest.mark.browser


@pytest.fixture
def outage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Web, str, list[int]]]:
    """A live server whose three «Ненадёжный сервис» applications failed at the registry call."""
    medflow = make_medflow(f"sqlite:///{tmp_path / 'medflow.db'}", SimulatedClock(START), **{"retry.delays": []})
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    ids = []
    for key in ("a", "b", "c"):
        monkeypatch.setitem(handlers.FLAKY_FAILURES, key, 1)
        ids.append(medflow.runtime.start("flaky_call", {"key": key})["id"])
    web = web_for(medflow)
    try:
        with serving(web) as base:
            yield web, base, ids
    finally:
        medflow.db.dispose()
        install_clock(RealClock())


def test_a_supervisor_retries_a_whole_group_at_a_rate(browser, outage) -> None:  # type: ignore[no-untyped-def]
    web, base, ids = outage
    assert len(web.medflow.queries.incidents()) == 3
    page = logged_in_page(browser, base, "supervisor")

    page.goto(f"{base}/monitor/")
    page.click("text=Все инциденты по шагам")
    page.wait_for_url(f"{base}/monitor/incidents")
    group = page.locator("tr.incident-group[data-process='flaky_call']")
    assert group.count() == 1 and "Ненадёжный сервис" in group.inner_text()
    group.get_by_role("link", name="показать").click()
    page.wait_for_selector("#group-incidents")
    applications = page.locator("#group-incidents a[href^='/monitor/instances/']")
    assert applications.all_inner_texts() == [web.medflow.queries.instance(i)["business_key"] for i in ids]
    group.get_by_label("не чаще").fill("5")
    assert success_after(page, group.get_by_role("button", name="Повторить все (3)")) == \
        "Повтор запланирован для 3 шагов."
    assert page.locator("tr.incident-group").count() == 0
    assert page.locator("text=Открытых инцидентов нет.").is_visible()
    assert web.medflow.queries.incidents() == []
    # Five a second: the third is due 0.4 s after the first, not with it.
    jobs = [web.medflow.queries.instance(i)["jobs"] for i in ids]
    assert [[j["kind"] for j in js] for js in jobs] == [["retry"]] * 3
    assert [j[0]["due_at"] for j in jobs] == [(START + timedelta(seconds=s)).isoformat() for s in (0, 0.2, 0.4)]
    assert not page.errors
    page.context.close()
