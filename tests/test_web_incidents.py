"""The supervisor's incidents page: an outage shown as one group of a step, its incidents a page
at a time, and «Повторить все» that hands the whole group to the worker, at a rate if asked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine.clock import RealClock, install_clock
from engine.definitions import collect_files
from engine.errors import Busy
from engine.incident_retries import IncidentFilter
from engine.worker import Worker
from tests import engine_test_handlers as handlers
from tests.conftest import DIAGRAMS, make_medflow
from tests.web_harness import web_for

RATE_ERROR = "Скорость повтора — положительное число шагов в секунду"


@pytest.fixture
def web(database_url, sim_clock):  # type: ignore[no-untyped-def]
    """Retries exhausted at the first failure: a failing call is an incident at once."""
    medflow = make_medflow(database_url, sim_clock, **{"retry.delays": []})
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    try:
        yield web_for(medflow)
    finally:
        medflow.db.dispose()
        install_clock(RealClock())


def outage(web, monkeypatch, keys: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    """An application of «Ненадёжный сервис» per key, each failed at its registry call."""
    ids = []
    for key in keys:
        monkeypatch.setitem(handlers.FLAKY_FAILURES, key, 1)
        ids.append(web.medflow.runtime.start("flaky_call", {"key": key})["id"])
    return ids


def other_group(web, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """An incident of another procedure and step (after its own retry, 6 seconds later)."""
    monkeypatch.setitem(handlers.FLAKY_FAILURES, "other", 2)
    instance_id = web.medflow.runtime.start("flaky_policy", {"key": "other"})["id"]
    web.medflow.clock.advance(timedelta(seconds=6))
    assert Worker(web.medflow, "w0").tick().fired == 1
    return instance_id


def group_form(page: str, process_key: str) -> dict[str, str]:
    """The hidden fields of a group's «Повторить все» form, as the browser would post them."""
    row = page[page.index(f'data-process="{process_key}"'):]
    form = row[row.index("<form"):row.index("</form>")]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def open_incidents(web) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    return [(i["id"], i["instance_id"]) for i in web.medflow.queries.incidents()]


def flashed(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'<div class="flash flash-\w+" role="\w+">([^<]*)</div>', response.get_data(as_text=True))


def test_the_page_shows_an_outage_as_one_group_and_its_incidents_page_by_page(web, monkeypatch) -> None:
    other_group(web, monkeypatch)  # another step's incident: not in this group's pages
    ids = outage(web, monkeypatch, ["a", "b", "c"])
    supervisor = web.login("supervisor")
    assert 'href="/monitor/incidents">Все инциденты по шагам' in supervisor.get("/monitor/").get_data(as_text=True)

    page = supervisor.get("/monitor/incidents").get_data(as_text=True)
    rows = re.findall(r'<tr class="incident-group" data-process="([^"]+)"', page)
    assert rows == ["flaky_call", "flaky_policy"]  # the largest group first
    flaky = page[page.index('data-process="flaky_call"'):page.index('data-process="flaky_policy"')]
    assert "Ненадёжный сервис<br>" in flaky and "test_flaky" in flaky and "реестр не отвечает" in flaky
    assert "30.04.2026 12:00" in flaky and "Повторить все (3)" in flaky  # Moscow time, as the other pages
    newest = max(i for i, instance_id in open_incidents(web) if instance_id in ids)
    fields = group_form(page, "flaky_call")
    assert fields["process_key"] == "flaky_call" and fields["element_id"] == "call"
    assert fields["handler"] == "test_flaky" and fields["up_to_id"] == str(newest) and fields["csrf_token"]

    import webui.monitor

    monkeypatch.setattr(webui.monitor, "PAGE", 2)
    link = re.search(r'class="show-group" href="([^"]+)"', flaky).group(1).replace("&amp;", "&")
    first = supervisor.get(link).get_data(as_text=True)
    shown = re.findall(r'href="/monitor/instances/(\d+)">([^<]+)</a>', first)
    # Each by its application's number, as people know it.
    assert shown == [(str(i), web.medflow.queries.instance(i)["business_key"]) for i in ids[:2]]
    following = re.search(r'id="incidents-next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = supervisor.get(following).get_data(as_text=True)
    assert [int(i) for i, _ in re.findall(r'href="/monitor/instances/(\d+)">([^<]+)</a>', second)] == ids[2:]
    assert 'id="incidents-next"' not in second


def test_retry_all_hands_the_group_to_the_worker_at_a_rate(web, monkeypatch) -> None:
    other = other_group(web, monkeypatch)
    ids = outage(web, monkeypatch, ["a", "b", "c"])
    supervisor = web.login("supervisor")
    fields = group_form(supervisor.get("/monitor/incidents").get_data(as_text=True), "flaky_call")
    answer = supervisor.post("/monitor/incidents/retry", data={**fields, "per_second": "2"}, follow_redirects=True)
    assert answer.request.path == "/monitor/incidents"
    # 12:00:06 Moscow time, then every half second.
    assert flashed(answer) == ["Повтор запланирован для 3 шагов с 12:00:06 по 12:00:07."]
    assert [instance_id for _, instance_id in open_incidents(web)] == [other]  # the other group is left
    page = answer.get_data(as_text=True)
    assert 'data-process="flaky_call"' not in page and 'data-process="flaky_policy"' in page
    for instance_id in ids:
        instance = web.medflow.queries.instance(instance_id)
        assert instance["status"] == "running" and [j["kind"] for j in instance["jobs"]] == ["retry"]
        assert instance["incidents"][0]["resolved_by"] == "supervisor"
    history = supervisor.get(f"/monitor/instances/{ids[2]}").get_data(as_text=True)
    assert "Повтор по инциденту запланирован" in history and "incident_retry_scheduled" not in history
    # Its due time as people read it (the third of three at 2 per second), not as stored.
    assert re.search(r"<td>— → \d\d\.\d\d\.2026 12:00:07</td>", history) and "T09:00:07" not in history

    web.medflow.clock.advance(timedelta(seconds=2))
    assert Worker(web.medflow, "w1").tick().fired == 3  # the registry is back: all three complete
    assert all(web.medflow.queries.instance(i)["status"] == "completed" for i in ids)


def test_at_most_a_limit_per_request_and_only_what_the_page_showed(web, monkeypatch) -> None:
    import webui.monitor

    ids = outage(web, monkeypatch, ["a", "b", "c"])
    supervisor = web.login("supervisor")
    fields = group_form(supervisor.get("/monitor/incidents").get_data(as_text=True), "flaky_call")
    later = outage(web, monkeypatch, ["d"])  # opened after the page was shown: may have another cause
    monkeypatch.setattr(webui.monitor, "REQUEST_LIMIT", 2)
    answer = supervisor.post_form("/monitor/incidents/retry", {**fields, "per_second": ""}, follow_redirects=True)
    assert flashed(answer) == ["Повтор запланирован для 2 шагов. Ещё 1 шаг ждёт — нажмите ещё раз."]
    answer = supervisor.post_form("/monitor/incidents/retry", {**fields, "per_second": " "}, follow_redirects=True)
    assert flashed(answer) == ["Повтор запланирован для 1 шага."]
    assert [instance_id for _, instance_id in open_incidents(web)] == later
    assert all(web.medflow.queries.instance(i)["jobs"] for i in ids)
    answer = supervisor.post_form("/monitor/incidents/retry", fields, follow_redirects=True)
    assert flashed(answer) == ["Открытых инцидентов в этой группе уже нет: их повторили или закрыли."]
    assert [instance_id for _, instance_id in open_incidents(web)] == later


@pytest.mark.parametrize("rate", ["abc", "0", "-1", "1001", "nan", "inf"])
def test_a_bad_rate_is_refused_in_russian_and_changes_nothing(web, monkeypatch, rate: str) -> None:
    ids = outage(web, monkeypatch, ["a", "b"])
    before = open_incidents(web)
    supervisor = web.login("supervisor")
    fields = group_form(supervisor.get("/monitor/incidents").get_data(as_text=True), "flaky_call")
    answer = supervisor.post("/monitor/incidents/retry", data={**fields, "per_second": rate}, follow_redirects=True)
    assert answer.status_code == 200 and answer.request.path == "/monitor/incidents"
    [message] = flashed(answer)
    assert message.startswith(RATE_ERROR) and "Ничего не изменено" in message
    assert open_incidents(web) == before
    assert all(web.medflow.queries.instance(i)["jobs"] == [] for i in ids)


def test_a_decimal_comma_is_a_rate(web, monkeypatch) -> None:
    outage(web, monkeypatch, ["a", "b", "c"])
    supervisor = web.login("supervisor")
    fields = group_form(supervisor.get("/monitor/incidents").get_data(as_text=True), "flaky_call")
    answer = supervisor.post("/monitor/incidents/retry", data={**fields, "per_second": "0,5"}, follow_redirects=True)
    assert flashed(answer) == ["Повтор запланирован для 3 шагов с 12:00:00 по 12:00:04."]


def test_a_form_without_its_group_or_an_engine_refusal_changes_nothing(web, monkeypatch) -> None:
    outage(web, monkeypatch, ["a", "b"])
    before = open_incidents(web)
    supervisor = web.login("supervisor")
    fields = group_form(supervisor.get("/monitor/incidents").get_data(as_text=True), "flaky_call")
    for missing in ("process_key", "element_id", "up_to_id"):
        answer = supervisor.post("/monitor/incidents/retry", data={**fields, missing: ""}, follow_redirects=True)
        assert flashed(answer) == ["Не указана группа инцидентов. Обновите страницу и повторите."]
    answer = supervisor.post("/monitor/incidents/retry", data={**fields, "up_to_id": "1; drop"}, follow_redirects=True)
    assert flashed(answer) == ["Не указана группа инцидентов. Обновите страницу и повторите."]

    def busy(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Busy("Данные сейчас изменяет другой запрос. Ничего не изменено — повторите через несколько секунд.")

    monkeypatch.setattr(web.medflow.runtime, "retry_incidents", busy)
    answer = supervisor.post("/monitor/incidents/retry", data=fields, follow_redirects=True)
    assert answer.status_code == 200 and flashed(answer) == [
        "Данные сейчас изменяет другой запрос. Ничего не изменено — повторите через несколько секунд."]
    assert open_incidents(web) == before


def test_only_a_supervisor_and_only_with_the_form_token(web, monkeypatch) -> None:
    outage(web, monkeypatch, ["a"])
    before = open_incidents(web)
    fields = group_form(web.login("supervisor").get("/monitor/incidents").get_data(as_text=True), "flaky_call")
    operator = web.login("operator1")
    assert operator.get("/monitor/incidents").status_code == 403
    assert operator.post_form("/monitor/incidents/retry", {k: v for k, v in fields.items() if k != "csrf_token"}
                              ).status_code == 403
    stranger = web.client().get("/monitor/incidents")
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    supervisor = web.login("supervisor")
    forged = supervisor.post("/monitor/incidents/retry", data={k: v for k, v in fields.items() if k != "csrf_token"})
    assert forged.status_code == 400 and "Форма устарела" in forged.get_data(as_text=True)
    assert open_incidents(web) == before


def test_no_open_incidents(web) -> None:
    page = web.login("supervisor").get("/monitor/incidents").get_data(as_text=True)
    assert "Открытых инцидентов нет." in page and "Повторить все" not in page


def test_metrics_count_open_incidents_by_step(web, monkeypatch) -> None:
    """An alert can name the step that an outage stopped: one series per procedure, step, handler."""
    from prometheus_client.parser import text_string_to_metric_families

    other_group(web, monkeypatch)
    outage(web, monkeypatch, ["a", "b", "c"])

    def by_step() -> dict[tuple[str, str, str], float]:
        body = web.client().get("/metrics").get_data(as_text=True)
        return {(s.labels["process_key"], s.labels["element_id"], s.labels["handler"]): s.value
                for family in text_string_to_metric_families(body) for s in family.samples
                if s.name == "medflow_incidents_open_by_step"}

    assert by_step() == {("flaky_call", "call", "test_flaky"): 3, ("flaky_policy", "call_once", "test_flaky"): 1}
    web.medflow.runtime.retry_incidents(IncidentFilter(process_key="flaky_call"), "supervisor")
    assert by_step() == {("flaky_policy", "call_once", "test_flaky"): 1}
