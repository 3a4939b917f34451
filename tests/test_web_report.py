"""The supervisor's period report: per procedure the applications in, finished with their results,
working days to finish and tasks on time, with a totals row; the same period's applications as a
CSV for Excel; a bad period refused by field with 422. On SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from tests.web_harness import web_for

PAGE = "/monitor/report"
APRIL = {"from": "2026-04-01", "to": "2026-04-30"}
REVIEW = "Проверка с доработкой"  # review_loop's name in tests/diagrams
ANSWER = "Ответ или истечение срока"  # answer_or_expire's
HEADER = ["Номер заявления", "Процедура", "Подано", "Состояние", "Статус для заявителя", "Завершено", "Рабочих дней"]


@pytest.fixture
def web(medflow):  # type: ignore[no-untyped-def]
    """The web app on the test diagrams, the simulated clock at Thursday 30.04.2026 12:00 (Moscow)."""
    return web_for(medflow)


def approved(web) -> str:  # type: ignore[no-untyped-def]
    """A review_loop application its operator approved at once (finished the same day)."""
    started = web.medflow.runtime.start("review_loop", {"applicant_name": "А"})
    web.medflow.runtime.complete(started["open_tasks"][0]["id"], {"decision": "approve"}, user="op")
    return started["business_key"]


def april(web) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """On 30.04: a finished, a cancelled and an open review, and an open application of another procedure."""
    runtime = web.medflow.runtime
    done = approved(web)
    cancelled = runtime.start("review_loop", {"applicant_name": "Б"})
    runtime.cancel(cancelled["id"], actor="supervisor", reason="отозвано заявителем")
    waiting = runtime.start("review_loop", {"applicant_name": "В"})
    other = runtime.start("answer_or_expire", {})
    return {"done": done, "cancelled": cancelled["business_key"], "waiting": waiting["business_key"],
            "other": other["business_key"], "waiting_task": waiting["open_tasks"][0]["id"]}


def cells(page: str, row_marker: str) -> list[str]:
    """The texts of a table row's cells (tags dropped, spaces collapsed)."""
    start = page.index(row_marker)
    row = page[start:page.index("</tr>", start)]
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="f-{field}-error">([^<]*)</p>', page)
    return found.group(1) if found else ""


def body_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-process="([^"]+)">', page)


def test_the_month_in_figures_per_procedure_with_totals(web) -> None:
    april(web)
    supervisor = web.login("supervisor")
    response = supervisor.get(PAGE, query_string=APRIL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<h2 id="report-period">01.04.2026 — 30.04.2026</h2>' in page
    assert body_rows(page) == ["answer_or_expire", "review_loop"]  # by name: «Ответ…» before «Проверка…»
    # Three reviews came in; the approved and the cancelled one are finished; the approved one's
    # review task was done the same day, well before its 10 working days.
    assert cells(page, 'data-process="review_loop"') == [
        REVIEW, "3", "2", "Отменено: 1 Услуга оказана: 1", "0", "0", "1", "100 % (1 из 1)"]
    assert cells(page, 'data-process="answer_or_expire"') == [ANSWER, "1", "0", "—", "—", "—", "0", "—"]
    assert cells(page, 'id="report-totals"') == [
        "Всего", "4", "2", "Отменено: 1 Услуга оказана: 1", "—", "—", "1", "100 % (1 из 1)"]
    assert 'href="/monitor/report.csv?from=2026-04-01&amp;to=2026-04-30">Скачать CSV</a>' in page
    assert 'type="date" id="f-from" name="from" value="2026-04-01"' in page
    assert "review_loop</td>" not in page  # people read names, not keys

    only = supervisor.get(PAGE, query_string={**APRIL, "process": "answer_or_expire"}).get_data(as_text=True)
    assert body_rows(only) == ["answer_or_expire"]
    assert cells(only, 'id="report-totals"') == ["Всего", "1", "0", "—", "—", "—", "0", "—"]
    assert f'<option value="answer_or_expire" selected>{ANSWER}</option>' in only
    assert "process=answer_or_expire" in only.split('id="report-csv"')[1].split(">")[0]


def test_working_days_percentiles_and_late_tasks_in_the_next_month(web) -> None:
    made = april(web)
    web.medflow.clock.advance(timedelta(days=20))  # 20.05: past the review's deadline (10 working days: 18.05)
    web.medflow.runtime.complete(made["waiting_task"], {"decision": "approve"}, user="op")
    approved(web)  # started and finished on 20.05
    page = web.login("supervisor").get(PAGE, query_string={"from": "01.05.2026", "to": "31.05.2026"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # 30.04 → 20.05 is 12 working days (1–3 and 9–11 May are holidays in 2026); the new one took 0.
    assert cells(text, 'data-process="review_loop"') == [
        REVIEW, "1", "2", "Услуга оказана: 2", "0", "12", "2", "50 % (1 из 2)"]
    # ДД.ММ.ГГГГ in the address is understood and shown back as the date inputs want it.
    assert 'name="from" value="2026-05-01"' in text and 'name="to" value="2026-05-31"' in text


def test_the_csv_streams_every_application_of_the_period(web, monkeypatch) -> None:
    made = april(web)
    monkeypatch.setattr("engine.reports.PAGE", 2)  # four applications: two pages of rows
    response = web.login("supervisor").get(f"{PAGE}.csv", query_string=APRIL)
    # Streamed: no Content-Length, which a response built in memory before sending would have.
    assert response.status_code == 200 and "Content-Length" not in response.headers
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="report-2026-04-01-2026-04-30.csv"'
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode()) and raw.count("\ufeff".encode()) == 1  # the BOM once, first
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == ";".join(HEADER)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == HEADER
    status_of = {key: web.medflow.queries.instance(made[key])["portal_status"] or "" for key in ("cancelled", "other")}
    assert rows[1:] == [
        [made["done"], REVIEW, "30.04.2026 12:00", "завершено", "Услуга оказана", "30.04.2026 12:00", "0"],
        [made["cancelled"], REVIEW, "30.04.2026 12:00", "отменено", status_of["cancelled"], "30.04.2026 12:00", ""],
        [made["waiting"], REVIEW, "30.04.2026 12:00", "в работе", "Заявление принято к рассмотрению", "", ""],
        [made["other"], ANSWER, "30.04.2026 12:00", "в работе", status_of["other"], "", ""],
    ]

    only = web.login("supervisor").get(f"{PAGE}.csv", query_string={**APRIL, "process": "answer_or_expire"})
    assert [r[0] for r in csv.reader(io.StringIO(only.get_data().decode("utf-8-sig")), delimiter=";")] == [
        HEADER[0], made["other"]]


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"from": "2026-04-30", "to": "2026-04-01"}, "to", "окончание раньше начала"),
    ({"from": "апрель", "to": "2026-04-30"}, "from", "дата в формате ДД.ММ.ГГГГ"),
    ({"from": "2026-04-01", "to": ""}, "to", "укажите дату"),
    ({"from": "2026-05-04", "to": "2026-05-08"}, "from", "период ещё не начался"),
])
def test_a_bad_period_is_422_with_the_message_at_its_field(web, query, field, message) -> None:
    approved(web)
    supervisor = web.login("supervisor")
    response = supervisor.get(PAGE, query_string=query)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, field) == message
    assert 'id="form-errors"' in page and f"<li>{message}</li>" in page  # the summary too
    assert f'name="from" value="{query["from"]}"' in page and f'name="to" value="{query["to"]}"' in page
    assert 'id="report-table"' not in page and "Скачать CSV" not in page and "Traceback" not in page

    refused = supervisor.get(f"{PAGE}.csv", query_string=query)
    assert refused.status_code == 422 and refused.mimetype == "text/plain"
    text = refused.get_data(as_text=True)
    assert text.startswith("Отчёт не построен.") and message in text and "Traceback" not in text
    assert "Content-Disposition" not in refused.headers


def test_only_supervisors_see_the_report(web) -> None:
    operator = web.login("operator1")
    assert operator.get(PAGE).status_code == 403
    assert operator.get(f"{PAGE}.csv", query_string=APRIL).status_code == 403
    stranger = web.client()
    for path in (PAGE, f"{PAGE}.csv"):
        response = stranger.get(path, query_string=APRIL)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert web.login("admin").get(PAGE).status_code == 200  # admins pass everywhere


def test_without_a_period_this_month_up_to_today_and_the_monitor_links_here(web) -> None:
    approved(web)
    supervisor = web.login("supervisor")
    assert 'href="/monitor/report">Отчёт за период</a>' in supervisor.get("/monitor/").get_data(as_text=True)
    page = supervisor.get(PAGE).get_data(as_text=True)
    assert 'name="from" value="2026-04-01"' in page and 'name="to" value="2026-04-30"' in page
    assert cells(page, 'data-process="review_loop"')[:3] == [REVIEW, "1", "1"]
    assert '<option value="">все процедуры</option>' in page
    assert f'<option value="review_loop" >{REVIEW}</option>' in page  # every deployed procedure by name

    web.medflow.clock.advance(timedelta(days=20))  # 20.05: the month moved on, April's application is not in it
    page = supervisor.get(PAGE).get_data(as_text=True)
    assert 'name="from" value="2026-05-01"' in page and 'name="to" value="2026-05-20"' in page
    assert body_rows(page) == [] and 'id="report-empty"' in page and 'id="report-totals"' not in page
