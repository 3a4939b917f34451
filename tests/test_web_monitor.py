"""Supervisor monitoring: instance list and page, diagram highlights, incidents retry, cancel,
SLA dashboard."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from tests.bpmn_samples import bpmn, process, service_task
from tests.test_web_portal import start, submit
from tests.web_harness import make_web, medbook_post


@pytest.fixture()
def web(tmp_path):
    return make_web(tmp_path)


def submitted(web) -> str:
    client = web.login("ivanova")
    key = start(client)
    assert submit(client, key, medbook_post(0)).status_code == 302
    return key


def test_instance_list_filters_and_page(web) -> None:
    key = submitted(web)
    client = web.login("supervisor")
    page = client.get("/monitor/").get_data(as_text=True)
    assert key in page and "ivanova" in page
    assert key not in client.get("/monitor/?status=completed").get_data(as_text=True)
    assert key in client.get("/monitor/?process=medbook_issuance&status=running").get_data(as_text=True)
    jump = client.get(f"/monitor/?q={key}")
    assert jump.status_code == 302 and unquote(jump.headers["Location"]).endswith(f"/monitor/instances/{key}")
    detail = client.get(f"/monitor/instances/{key}").get_data(as_text=True)
    assert "Рассмотреть заявление" in detail and "working_days(reminder_days)" in detail
    assert "instance-data" in detail and "task_completed" not in detail and "Задача выполнена" in detail
    assert "bpmn-navigated-viewer.production.min.js" in detail
    assert client.get("/monitor/instances/МК-0000").status_code == 404


def test_diagram_json_marks_active_and_completed_elements(web) -> None:
    key = submitted(web)
    diagram = web.login("supervisor").get(f"/monitor/instances/{key}/diagram.json").json
    assert diagram["files"][0]["name"] == "medbook_issuance.bpmn"
    assert "refusal_and_resubmit.bpmn" in [f["name"] for f in diagram["files"]]
    assert "review" in diagram["active"] and "remind" in diagram["active"]
    assert {"submit_application", "register", "collect"} <= set(diagram["done"])


def test_the_audit_log_shows_the_latest_events_a_page_at_a_time(web, monkeypatch) -> None:
    """A review loop or years of renewals make thousands of events: the page shows the latest
    and links to the earlier ones, never every event at once."""
    import webui.monitor

    monkeypatch.setattr(webui.monitor, "HISTORY_PAGE", 4)
    key = submitted(web)
    whole = web.medflow.queries.history(key)
    assert len(whole) > 8
    client = web.login("supervisor")
    shown, url = [], f"/monitor/instances/{key}"
    while url:
        page = client.get(url).get_data(as_text=True)
        rows = re.findall(r"<tr><td>", page.split('id="audit"')[1].split("</table>")[0])
        assert 0 < len(rows) <= 4
        shown.append(len(rows))
        older = re.search(r'id="audit-older" href="([^"]+)"', page)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert sum(shown) == len(whole) and shown[0] == 4


def test_cancel_needs_a_reason(web) -> None:
    key = submitted(web)
    client = web.login("supervisor")
    client.post_form(f"/monitor/instances/{key}/cancel", {"reason": ""})
    assert web.medflow.queries.instance(key, with_data=False)["status"] == "running"
    client.post_form(f"/monitor/instances/{key}/cancel", {"reason": "дубль"})
    assert web.medflow.queries.instance(key, with_data=False)["status"] == "cancelled"
    again = client.post_form(f"/monitor/instances/{key}/cancel", {"reason": "ещё раз"}, follow_redirects=True)
    assert "отменить нельзя" in again.get_data(as_text=True)


def test_incident_retry(web) -> None:
    from engine.handler_registry import handler, unregister

    calls = {"n": 0}

    @handler("web_test_flaky")
    def flaky(ctx) -> dict:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] < 5:
            raise RuntimeError("реестр недоступен")
        return {}

    try:
        web.medflow.definitions.handler_names.append("web_test_flaky")
        xml = bpmn(process("web_flaky", service_task("call", "web_test_flaky")))
        web.medflow.definitions.deploy({"flaky.bpmn": xml.encode()})
        started = web.medflow.runtime.start("web_flaky", {}, actor="ivanova")
        from datetime import timedelta

        from engine.worker import Worker

        worker = Worker(web.medflow, worker_id="test")
        for _ in range(4):
            web.medflow.clock.advance(timedelta(minutes=10))
            worker.tick()
        [incident] = web.medflow.queries.incidents()
        client = web.login("supervisor")
        assert "реестр недоступен" in client.get("/monitor/").get_data(as_text=True)
        done = client.post_form(f"/monitor/incidents/{incident['id']}/retry", {"back": "https://evil.example/"})
        assert done.headers["Location"] == f"/monitor/instances/{started['id']}"  # not the other site
        assert web.medflow.queries.instance(started["id"], with_data=False)["status"] == "completed"
        again = client.post_form(f"/monitor/incidents/{incident['id']}/retry", follow_redirects=True)
        assert "уже закрыт" in again.get_data(as_text=True)
    finally:
        unregister("web_test_flaky")


def test_dashboard_charts(web) -> None:
    key = submitted(web)
    task = web.medflow.queries.tasks(business_key=key)[0]
    from datetime import timedelta

    web.medflow.clock.set(web.medflow.clock.now() + timedelta(days=20))
    web.medflow.runtime.claim(task["id"], "operator1")
    web.medflow.runtime.complete(task["id"], {"decision": "approve"}, user="operator1")
    submitted_again = web.login("petrov")
    other = start(submitted_again)
    submit(submitted_again, other, medbook_post(1))
    page = web.login("supervisor").get("/monitor/dashboard").get_data(as_text=True)
    assert page.count("<svg") == 3
    assert "medbook_operators" in page and "в срок" in page
    assert "2026-W19" in page  # the breach: due 08.05.2026, done 13.05
    assert "Рассмотреть заявление (medbook_issuance)" in page and "медиана" in page
    assert web.login("operator1").get("/monitor/dashboard").status_code == 403


def test_dashboard_shows_timer_workers_alive_or_silent(web) -> None:
    from datetime import UTC, datetime, timedelta

    from engine.heartbeats import Heartbeat

    supervisor = web.login("supervisor")
    assert "не работал ни один обработчик таймеров" in supervisor.get("/monitor/dashboard").get_data(as_text=True)
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    Heartbeat(web.medflow.db, "host-a:11", every_seconds=10, now=lambda: long_ago).tick_done(3, 1, ["задание 5: сбой"])
    Heartbeat(web.medflow.db, "host-b:12", every_seconds=10).tick_done(7, 0, [])
    page = supervisor.get("/monitor/dashboard").get_data(as_text=True)
    workers = page[page.index('id="workers"'):]
    row_a = workers[workers.index("host-a:11"):workers.index("</tr>", workers.index("host-a:11"))]
    row_b = workers[workers.index("host-b:12"):workers.index("</tr>", workers.index("host-b:12"))]
    assert "не отвечает" in row_a and re.search(r"6\d\d с назад", row_a) and "задание 5: сбой" in row_a
    assert "работает" in row_b and "<td>7</td>" in row_b


def test_dashboard_counts_every_open_task_and_shows_the_latest_breaches(web, monkeypatch) -> None:
    """Past 10,000 tasks the dashboard counted only the first 10,000 open ones it was given, and
    took the completed ones with the earliest deadlines — a live system's oldest, so this week's
    breach never showed. Counted in SQL now, and read from the recent end."""
    from datetime import timedelta

    from sqlalchemy import insert

    from engine.models import UserTask
    from webui import sla_stats

    key = submitted(web)
    instance = web.medflow.queries.instance(key)
    now = web.medflow.clock.now()
    before = len(web.medflow.queries.tasks(groups=["medbook_operators"], limit=100))

    def task(i: int, **values):  # type: ignore[no-untyped-def]
        return dict(id=f"bulk-{i}", instance_id=instance["id"], business_key=key, process_key="medbook_issuance",
                    element_id="review", name="Рассмотреть заявление", candidate_group="medbook_operators",
                    **values)

    far, long_ago = now + timedelta(days=60), now - timedelta(days=400)
    rows = [task(i, status="open", due_at=far, created_at=now) for i in range(10_050)]
    rows += [task(20_000 + i, status="completed", due_at=long_ago, created_at=long_ago - timedelta(hours=2),
                  completed_at=long_ago - timedelta(hours=1)) for i in range(10_050)]  # done the same day
    rows.append(task(99_999, status="completed", due_at=now - timedelta(days=1), created_at=now - timedelta(days=9),
                     completed_at=now - timedelta(hours=2)))  # this week's breach, after more than a week
    with web.medflow.db.write() as session:
        session.execute(insert(UserTask), rows)
    monkeypatch.setattr(sla_stats, "RECENT", 1)  # the durations of the last completed task only
    with web.app.test_request_context():
        groups, by_state = sla_stats.open_by_group()
        weeks, breaches = sla_stats.breaches_by_week()
        steps, durations = sla_stats.step_durations()
    open_here = sum(by_state[label][groups.index("medbook_operators")] for label in by_state)
    assert open_here == 10_050 + before
    this_week = "{}-W{:02d}".format(*(now.date() - timedelta(days=1)).isocalendar()[:2])
    assert this_week in weeks and breaches["medbook_issuance"][weeks.index(this_week)] == 1
    assert durations["медиана"][steps.index("Рассмотреть заявление (medbook_issuance)")] > 0  # not an old one


def test_the_monitor_shows_how_many_incidents_and_the_first_few(web) -> None:
    """A registry outage opens an incident per application: the pages count them in SQL and list
    five (the list of applications filters by status «incident» for the rest)."""
    from sqlalchemy import insert

    from engine.models import Incident

    key = submitted(web)
    instance = web.medflow.queries.instance(key)
    now = web.medflow.clock.now()
    with web.medflow.db.write() as session:
        session.execute(insert(Incident), [dict(instance_id=instance["id"], element_id=f"step_{i}", error="реестр не отвечает",
                                                status="open", created_at=now, task_id=f"t{i}")
                                           for i in range(7)])
    supervisor = web.login("supervisor")
    page = supervisor.get("/monitor/").get_data(as_text=True)
    assert "Открытых инцидентов: 7." in page and page.count("реестр не отвечает") == 5
    assert "Открытых инцидентов: 7." in supervisor.get("/monitor/dashboard").get_data(as_text=True)
