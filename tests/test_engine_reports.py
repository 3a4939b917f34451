"""The period report: per procedure, applications in and finished with their results, working
days to finish, staff tasks on time — read by time range, on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.errors import ValidationFailed
from engine.reports import period

MSK = ZoneInfo("Europe/Moscow")
APRIL = (date(2026, 4, 1), date(2026, 4, 30))


def _review(medflow, decision: str = "approve", user: str = "op") -> str:  # type: ignore[no-untyped-def]
    started = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    (task,) = started["open_tasks"]
    medflow.runtime.complete(task["id"], {"decision": decision}, user=user)
    return started["business_key"]


def test_a_month_in_figures_and_rows(medflow, sim_clock):
    reports = medflow.reports
    done_today = _review(medflow)  # Thursday 30.04: started and finished the same day
    waiting = medflow.runtime.start("review_loop", {"applicant_name": "Б"})
    cancelled = medflow.runtime.start("review_loop", {"applicant_name": "В"})
    medflow.runtime.cancel(cancelled["id"], actor="boss", reason="отозвано")
    sim_clock.advance(timedelta(days=20))  # 20.05: past the 10 working days of its deadline (18.05)
    (late,) = waiting["open_tasks"]
    medflow.runtime.complete(late["id"], {"decision": "approve"}, user="op")
    _review(medflow)  # started in May: not in April's "submitted"

    (april,) = reports.applications(period(*APRIL, MSK, date(2026, 5, 20)))
    assert (april.process_key, april.submitted, april.finished) == ("review_loop", 3, 2)
    completed_status = medflow.queries.instance(done_today)["portal_status"]
    assert dict(april.outcomes) == {completed_status or "Завершено": 1, "Отменено": 1}
    assert (april.days, april.tasks_done, april.tasks_with_deadline, april.tasks_on_time) == ([0], 1, 1, 1)

    (may,) = reports.applications(period(date(2026, 5, 1), date(2026, 5, 31), MSK, date(2026, 5, 20)))
    assert (may.submitted, may.finished, may.tasks_done) == (1, 2, 2)
    # 30.04 → 20.05: 4–8, 12–15 and 18–20 May are working days (1–3 and 9–11 May are not, 2026).
    assert sorted(may.days) == [0, 12] and may.median_days() == 0.0 and may.p90_days() == 12.0
    assert (may.tasks_with_deadline, may.tasks_on_time, may.on_time_share()) == (2, 1, 0.5)

    rows = list(reports.rows(period(*APRIL, MSK, date(2026, 5, 20))))
    assert [(r["business_key"], r["status"], r["working_days"]) for r in rows] == [
        (done_today, "completed", 0), (waiting["business_key"], "completed", 12),
        (cancelled["business_key"], "cancelled", None)]
    assert rows[0]["created_at"].tzinfo is not None and rows[0]["created_at"].hour == 12  # Moscow time
    assert reports.applications(period(*APRIL, MSK, date(2026, 5, 20)), process_key="other") == []


def test_rows_come_a_page_at_a_time(medflow, monkeypatch):
    monkeypatch.setattr("engine.reports.PAGE", 2)
    keys = [medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"] for _ in range(5)]
    rows = list(medflow.reports.rows(period(*APRIL, MSK, date(2026, 4, 30))))
    assert [r["business_key"] for r in rows] == keys


@pytest.mark.parametrize(("first", "last", "field", "text"), [
    ("2026-04-30", "2026-04-01", "to", "раньше начала"),
    ("2026-01-01", "2027-02-01", "to", "не дольше 366"),
    ("апрель", "2026-04-30", "from", "ДД.ММ.ГГГГ"),
    ("2026-06-01", "2026-06-30", "from", "ещё не начался"),
])
def test_a_bad_period_is_refused_by_field(first, last, field, text):
    with pytest.raises(ValidationFailed) as refused:
        period(first, last, MSK, date(2026, 4, 30))
    assert any(e["field"] == field and text in e["message"] for e in refused.value.errors), refused.value.errors
