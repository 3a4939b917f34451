"""The reads that run on every page, API call or worker tick are answered from an index, so their
cost does not grow with the tables (hundreds of thousands of applications, millions of tasks).

Each test records the statements a real call sends and asks the database's planner about them.
SQLite's planner needs no statistics, so its plan does not depend on how many rows a test made.
PostgreSQL's does: with a test's few rows it would rightly read a table through, so it is asked
with sequential scans and sorts priced out (``enable_seqscan``/``enable_sort`` off) — a plan that
still scans or sorts a growing table then has no index that could serve it. A full scan of a
growing table, or a sort of all the rows that match, fails the test with the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from engine.bootstrap import MedFlow
from tests.medflow_harness import recorded_statements

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)

GROWING = ("substitutions", "user_tasks", "instances", "jobs", "audit_events", "accounts", "issued_certificates", "applications",
           "notification_outbox", "documents", "incidents")


def _selects(medflow: MedFlow, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    parameters: list[Any] = []
    with recorded_statements(medflow.db, parameters) as statements:
        call()
    seen = [(sql, params) for sql, params in zip(statements, parameters, strict=True)
            if sql.lstrip().upper().startswith("SELECT")]
    assert seen, "the call sent no query"
    return seen


def plans(medflow: MedFlow, call: Callable[[], Any]) -> list[list[tuple[int, str]]]:
    """The plan of each SELECT ``call`` sends: (parent, detail) rows of SQLite's EXPLAIN QUERY PLAN."""
    seen = _selects(medflow, call)
    with medflow.db.read_engine.connect() as connection:
        raw = connection.connection.driver_connection
        return [[(row[1], row[3]) for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params)] for sql, params in seen]


# A search keyed by one application or one person matches a handful of rows, whatever the table.
NARROW = ("(instance_id=", "(started_by=", "(business_key=")
PG_NARROW = ("instance_id = ", "started_by = ", "business_key = ")


def postgres_plans(medflow: MedFlow, call: Callable[[], Any]) -> list[dict[str, Any]]:
    """The plan tree of each SELECT ``call`` sends, from PostgreSQL's EXPLAIN (FORMAT JSON) with
    sequential scans and sorts priced out; parameters bound on the client (EXPLAIN takes none)."""
    import psycopg

    seen = _selects(medflow, call)
    with medflow.db.read_engine.connect() as connection:
        raw = connection.connection.driver_connection
        with psycopg.ClientCursor(raw) as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            found = []
            for sql, params in seen:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                found.append(cursor.fetchone()[0][0]["Plan"])
        connection.rollback()
        return found


def _nodes(node: dict[str, Any], stop_at_limit: bool = False) -> list[dict[str, Any]]:
    """``node`` and all below it; ``stop_at_limit``: not below a Limit (a sort above one sorts a
    page, such as the worklist's merge of its per-group pages)."""
    below = [] if stop_at_limit and node["Node Type"] == "Limit" else node.get("Plans", [])
    return [node] + [n for child in below for n in _nodes(child, stop_at_limit)]


def _narrow(node: dict[str, Any]) -> bool:
    condition = f"{node.get('Index Cond', '')} {node.get('Recheck Cond', '')}"
    return any(key in condition for key in PG_NARROW)


def assert_indexed_postgres(medflow: MedFlow, call: Callable[[], Any], scan_ok: bool) -> None:
    for plan in postgres_plans(medflow, call):
        nodes = _nodes(plan)
        growing = [n for n in nodes if n.get("Relation Name") in GROWING]
        assert scan_ok or not [n for n in growing if n["Node Type"] == "Seq Scan"], f"full scan: {plan}"
        for sort in (n for n in nodes if n["Node Type"] == "Sort"):
            reads = [n for n in _nodes(sort, stop_at_limit=True) if n.get("Relation Name") in GROWING]
            assert all(_narrow(n) for n in reads), f"sorts every matching row: {plan}"


def assert_indexed(medflow: MedFlow, call: Callable[[], Any], scan_ok: bool = False) -> None:
    """``scan_ok``: a plain SCAN is what is meant (newest first with no filter reads the table
    backwards by id and stops at the page's end); a sort of every row still fails."""
    if medflow.db.is_postgres:
        assert_indexed_postgres(medflow, call, scan_ok)
        return
    for plan in plans(medflow, call):
        levels: dict[int, list[str]] = {}
        for parent, step in plan:
            levels.setdefault(parent, []).append(step)
        for steps in levels.values():
            reads = [s for s in steps if s.startswith(("SCAN", "SEARCH")) and s.split()[1] in GROWING]
            assert scan_ok or not [s for s in reads if s.startswith("SCAN")], f"full scan: {plan}"
            if any("TEMP B-TREE FOR ORDER BY" in s for s in steps):
                assert all(any(key in s for key in NARROW) for s in reads), f"sorts every matching row: {plan}"


def test_an_applications_tasks_by_its_number(medflow):
    """The application page (its submitted form) and an operator's view of an application."""
    key = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})["business_key"]
    assert_indexed(medflow, lambda: medflow.queries.tasks(business_key=key, status="completed", limit=200))
    assert_indexed(medflow, lambda: medflow.queries.tasks(groups=["reviewers", "clerks"], assignee="op",
                                                         business_key=key, limit=1))


def test_a_deputys_worklist_and_whom_they_stand_in_for(medflow):
    """A deputy's page adds the absent person's groups and assigned tasks: still one index range
    per group and per person; and the substitutions are read by person, not scanned."""
    from engine.accounts import Accounts

    accounts = Accounts(medflow.db, medflow.settings)
    for name in ("petrov", "sidorov"):
        accounts.create(name, "пароль-для-теста-1", name, role="operator", groups=[name + "_group"])
    medflow.substitutions.add("petrov", "sidorov", "2026-04-30", "2026-05-08", actor="boss")
    medflow.runtime.start("review_loop", {"applicant_name": "Петров"})
    assert_indexed(medflow, lambda: medflow.queries.tasks(groups=["sidorov_group", "petrov_group", "operators"],
                                                         assignee=["sidorov", "petrov"], limit=50))
    assert_indexed(medflow, lambda: medflow.substitutions.scope("sidorov", ["sidorov_group"]))
    assert_indexed(medflow, lambda: medflow.substitutions.away(["petrov", "sidorov"]))


def test_a_period_report_reads_its_period(medflow):
    """The monthly report: applications by when they came in and when they finished, tasks by
    completion, and the CSV's rows a page at a time — each a range of an index, never a scan."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from engine.reports import period

    medflow.runtime.start("review_loop", {"applicant_name": "Петров"})
    month = period(date(2026, 4, 1), date(2026, 4, 30), ZoneInfo("Europe/Moscow"), date(2026, 4, 30))
    for process_key in (None, "review_loop"):
        for call in (partial(medflow.reports.applications, month, process_key),
                     partial(lambda key: list(medflow.reports.rows(month, key)), process_key)):
            assert_indexed(medflow, call)
            assert_time_ranges(medflow, call)


def assert_time_ranges(medflow: MedFlow, call: Callable[[], Any]) -> None:
    """Every read of a growing table is a range of a time index. An index search on status or
    procedure is not a scan, yet it reads every completed application or every one of the
    procedure (SQLite chose so for the report, 13 → 48 ms from 10,000 to 100,000 applications)."""
    if medflow.db.is_postgres:
        return  # it chooses by its statistics, which a test's few rows do not have: bench (g) measures it
    for plan in plans(medflow, call):
        reads = [s for _, s in plan if s.startswith(("SCAN", "SEARCH")) and s.split()[1] in GROWING]
        assert reads and all("created_at>" in s or "completed_at>" in s for s in reads), f"not a time range: {plan}"


def test_an_applicants_own_tasks(medflow):
    medflow.runtime.start("review_loop", {"applicant_name": "Петров"}, actor="petrov")
    assert_indexed(medflow, lambda: medflow.queries.tasks(groups=["applicants"], started_by="petrov", limit=50))


@pytest.mark.parametrize("filters", [{}, {"process_key": "review_loop"}, {"status": "running"},
                                     {"started_by": "petrov"}, {"process_key": "review_loop", "status": "completed"}])
def test_the_list_of_applications_newest_first(medflow, filters):
    medflow.runtime.start("review_loop", {"applicant_name": "Петров"}, actor="petrov")
    assert_indexed(medflow, lambda: medflow.queries.instances(**filters, limit=50), scan_ok=not filters)
    assert_indexed(medflow, lambda: medflow.queries.instances(**filters, limit=50, before_id=10**9),
                   scan_ok=not filters)


def test_the_staff_of_a_group_and_the_supervisors_figures(medflow):
    from engine.accounts import Accounts
    from engine.sla_queries import deadline_breaches, open_tasks_by_sla, recent_completions

    now = medflow.clock.now()
    assert_indexed(medflow, lambda: Accounts(medflow.db, medflow.settings).group_members("reviewers"))
    assert_indexed(medflow, lambda: recent_completions(medflow.db, 10_000, except_group="applicants"))
    assert_indexed(medflow, lambda: deadline_breaches(medflow.db, now, now))
    assert_indexed(medflow, lambda: open_tasks_by_sla(medflow.db, now, now))


def test_the_renewal_scan(medflow):
    from handlers.renewal_scheduler import start_renewal_watchers

    assert_indexed(medflow, lambda: start_renewal_watchers(medflow))


def test_a_metrics_scrape_reads_open_work_only(medflow):
    """Prometheus scrapes every 15 s, and the finished applications only grow: those are counted
    apart, every few minutes (webui.metrics.FinishedTotals), not in the scrape's queries."""
    from webui.metrics import DatabaseCollector, FinishedTotals

    medflow.runtime.start("review_loop", {"applicant_name": "Петров"}, actor="petrov")
    finished = FinishedTotals(300)
    finished.rows(medflow.db)
    assert_indexed(medflow, lambda: list(DatabaseCollector(medflow, finished).collect()))


def test_the_latest_events_of_an_application(medflow):
    """A task page shows an application's last 15 events: read newest first off the index and
    stopped there, not the whole log sorted (a review loop makes thousands)."""
    key = medflow.runtime.start("review_loop", {"applicant_name": "Петров"})["business_key"]
    for i in range(8):
        (task,) = medflow.queries.tasks(business_key=key)
        medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")
        medflow.runtime.send_message("resubmit", key, {"round": i}, actor="petrov")
    latest = medflow.queries.history(key, last=15, skip=("element_completed",))
    assert latest == [e for e in medflow.queries.history(key) if e["action"] != "element_completed"][-15:]
    for call in (lambda: medflow.queries.history(key, last=15, skip=("element_completed",)),
                 lambda: medflow.queries.history(key, limit=50, after_id=latest[0]["id"]),
                 lambda: medflow.queries.visited_elements(key, ("element_completed", "task_completed"))):
        assert_indexed(medflow, call)
        if not medflow.db.is_postgres:
            assert not [s for plan in plans(medflow, call) for _, s in plan if "TEMP B-TREE" in s and "DISTINCT" not in s]


def test_a_workers_claim_of_due_timers(medflow, sim_clock):
    """Every worker asks about every quarter second: the due end of the (status, due_at) index."""
    from datetime import timedelta

    medflow.runtime.start("wait_working_days", {"days": 1})
    medflow.runtime.start("wait_working_days", {"days": 30})
    sim_clock.advance(timedelta(days=5))
    assert_indexed(medflow, lambda: medflow.runtime.claim_due_jobs("plans", 100, 60))


def test_the_notification_dispatchers_claim(medflow):
    """Every worker dispatches every few seconds; the outbox keeps every notice ever sent."""
    from handlers.notification_delivery import NotificationDispatcher

    assert_indexed(medflow, lambda: NotificationDispatcher(medflow.db, medflow.settings, {}).dispatch())


@pytest.mark.parametrize("status", ["open", "completed"])
def test_every_task_by_deadline_for_a_supervisor(medflow, status):
    """GET /api/v1/tasks for a supervisor (no group filter): a page off the index, not every
    completed task ever sorted."""
    medflow.runtime.start("review_loop", {"applicant_name": "Петров"}, actor="petrov")
    assert_indexed(medflow, lambda: medflow.queries.tasks(status=status, limit=50))
    assert_indexed(medflow, lambda: medflow.queries.tasks(status=status, limit=50,
                                                         after=(None, medflow.clock.now(), "z")))


def _reads(medflow: MedFlow, call: Callable[[], Any], table: str) -> list[str]:
    """How each query of ``call`` reads ``table``: SQLite's SEARCH/SCAN lines, PostgreSQL's scan
    node types with their index conditions."""
    if medflow.db.is_postgres:
        return [f"{n['Node Type']} {n.get('Index Cond', '')}" for plan in postgres_plans(medflow, call)
                for n in _nodes(plan) if n.get("Relation Name") == table]
    return [s for plan in plans(medflow, call) for _, s in plan if s.split()[1:2] == [table]]


@pytest.mark.parametrize("also", [{"status": "completed"}, {"process_key": "review_loop"}])
def test_an_applicants_applications_by_status_or_procedure(medflow, also):
    """An applicant's list filtered by status or procedure is read by the person (a handful of
    rows), not by the status or procedure (everyone's, row by row) — SQLite's planner, with no
    statistics, preferred the latter."""
    if medflow.db.is_postgres:
        pytest.skip("PostgreSQL keeps statistics and chooses by them (checked by hand: by the person)")
    medflow.runtime.start("review_loop", {"applicant_name": "Петров"}, actor="petrov")
    reads = _reads(medflow, lambda: medflow.queries.instances(started_by="petrov", **also, limit=50), "instances")
    assert reads and all("started_by" in r for r in reads), reads


@pytest.mark.parametrize("status", ["open", "completed"])
def test_an_applicants_tasks_are_read_by_their_applications(medflow, status):
    """An applicant's tasks come from their own applications (a handful), not from every
    applicant's tasks of that status walked in deadline order — all completed ones ever, for a
    page of history. SQLite without statistics preferred the latter."""
    if medflow.db.is_postgres:
        pytest.skip("PostgreSQL keeps statistics and chooses by them")
    medflow.runtime.start("review_loop", {"applicant_name": "Петров"}, actor="petrov")
    now = medflow.clock.now()
    for after in (None, (now, now, "z"), (None, now, "z")):
        reads = _reads(medflow, lambda after=after: medflow.queries.tasks(groups=["applicants"], started_by="petrov",
                                                              status=status, limit=50, after=after), "user_tasks")
        assert reads and all("instance_id" in r for r in reads), (after, reads)


def test_an_outages_incidents_grouped_paged_and_retried_as_one(medflow, sim_clock, monkeypatch):
    """After an outage: the groups, a group's pages and its retry in batches read incidents off
    (status, id) and the applications by key, never every incident or application ever."""
    from datetime import timedelta

    from engine.incident_retries import IncidentFilter
    from engine.worker import Worker
    from tests import engine_test_handlers

    for key in ("a", "b"):
        monkeypatch.setitem(engine_test_handlers.FLAKY_FAILURES, key, 3)  # the first try and both retries
        medflow.runtime.start("flaky_call", {"key": key})
    for seconds in (11, 61):
        sim_clock.advance(timedelta(seconds=seconds))
        Worker(medflow, "w1").tick()
    group = IncidentFilter(process_key="flaky_call", element_id="call", handler="test_flaky")
    assert medflow.queries.open_incident_count(group) == 2
    # The groups count the open incidents (open work, as a metrics scrape does), then sort the
    # groups; each group's newest error is read by its id.
    if medflow.db.is_postgres:
        reads = [n for plan in postgres_plans(medflow, medflow.queries.incident_groups) for n in _nodes(plan)
                 if n.get("Relation Name") == "incidents"]
        assert reads and all(n.get("Index Cond", "").startswith(("((status)", "(id = ")) for n in reads), reads
    else:
        reads = [step for plan in plans(medflow, medflow.queries.incident_groups) for _, step in plan
                 if step.startswith(("SCAN", "SEARCH"))]
        assert reads and all("ix_incidents_open (status=?" in step or "(rowid=?)" in step for step in reads), reads
    assert_indexed(medflow, lambda: medflow.queries.incidents(limit=50, where=group, after_id=1))
    assert_indexed(medflow, lambda: medflow.runtime.retry_incidents(group, "s", per_second=5))
    assert medflow.queries.open_incident_count() == 0


def test_the_staff_page(medflow):
    """The staff list and everyone's open tasks: by the role index and one range per person,
    never through the applicants (a region has hundreds of thousands)."""
    from engine.accounts import Accounts
    from engine.staff import open_tasks_by_person

    assert_indexed(medflow, lambda: Accounts(medflow.db, medflow.settings).staff())
    assert_indexed(medflow, lambda: open_tasks_by_person(medflow.db, ["petrov", "sidorov"]))


def test_the_security_journal(medflow):
    """A page of the journal is a range of ix_audit_instance at its instance-less end, read
    newest first: the applications' events beside it (most of the table) are never read."""
    from engine.accounts import Accounts

    accounts = Accounts(medflow.db, medflow.settings)
    for before in (None, 1000):
        reads = _reads(medflow, lambda before=before: accounts.security_events(100, before), "audit_events")
        assert reads and all("ix_audit_instance" in r or "Index" in r for r in reads), reads
        assert_indexed(medflow, lambda before=before: accounts.security_events(100, before))
