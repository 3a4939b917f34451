"""`make bench`: every figure of issues 2 and 5 next to its ceiling or target, in one run.

    make bench                      # full sizes (~15 min on 2 cores)
    BENCH_QUICK=1 make bench        # smoke sizes (about a minute): the same table, small numbers
    make bench-baseline             # keep this run as benchmarks/results/baseline.json

Writes ``benchmarks/results/latest.json`` (``BENCH_RESULTS_DIR`` elsewhere) and prints the change
of every figure against the committed ``baseline.json``. PostgreSQL: see benchmarks.environment.
A section that fails is reported as an error; the other sections still run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.environment import postgres_database
from benchmarks.report import RESULTS, Figure, Run, load, save, table

SQLITE_TARGET_RATE = 150.0


@dataclass(frozen=True)
class Sizes:
    six_steps: int
    loop_marks: tuple[int, int, int]
    d_waiting: int
    d_due: int
    medbook: int
    http_clients: int
    http_per_client: int
    gunicorn_workers: int
    worklist: tuple[int, int]
    worklist_queries: int
    serve_actions: int
    timers_waiting: int
    timers_burst: int
    steady: int
    steady_seconds: int
    lead_seconds: float
    work_applications: int
    renewal: tuple[int, int]
    incidents: tuple[int, int]
    report: tuple[int, int]
    report_month: int


FULL = Sizes(300, (1, 100, 1000), 10_000, 1_000, 150, 16, 25, 4, (10_000, 100_000), 200, 300,
             100_000, 10_000, 3_000, 30, 12, 30, (10_000, 100_000), (1_000, 10_000), (10_000, 100_000), 1_000)
QUICK = Sizes(20, (1, 10, 30), 1_000, 100, 8, 16, 1, 2, (200, 600), 30, 10, 2_000, 300, 200, 3, 4, 2, (200, 600),
              (200, 600), (200, 600), 50)

# Every figure the table must show, in order; a failed section leaves "—" in its rows.
KEYS = ["e2e_sqlite_real", "e2e_sqlite_engine", "e2e_pg_real", "e2e_pg_engine", "e2e_ceiling",
        "e2e_sqlite_two", "e2e_pg_two",
        "http_rate", "http_p50", "http_p95", "http_p99", "http_errors", "http_calls", "http_statements",
        "worklist_small_p95", "worklist_large_p95", "worklist_growth", "generate_pg",
        "timers_one_p50", "timers_one_p99", "timers_one_rate", "timers_two_p99", "timers_two_rate",
        "timers_scaling", "timers_steady_p99", "timers_duplicates",
        "loop_first", "loop_mid", "loop_last", "rss_serve", "rss_worker", "rss_gunicorn",
        "six_engine", "six_ceiling", "timers_sqlite_p50", "timers_sqlite_p99",
        "renewal_small", "renewal_large", "renewal_growth",
        "incidents_pg_small", "incidents_pg_large", "incidents_pg_growth", "incidents_sqlite_large",
        "report_pg_small", "report_pg_large", "report_pg_growth", "report_sqlite_small", "report_sqlite_large",
        "report_sqlite_growth", "report_csv_large"]


def _say(line: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {line}", file=sys.stderr, flush=True)


def engine_section(run: Run, s: Sizes, tmp: Path) -> None:
    from benchmarks.engine_bench import (
        Tape,
        loop_costs,
        medbook_ceiling,
        medbook_parallel_rate,
        medbook_rates,
        six_step_ceiling,
        six_step_rate,
        sqlite_timer_lateness,
    )
    from benchmarks.environment import engine_for, medbook_form, register_people
    from engine.clock import SimulatedClock

    tape = Tape()
    sqlite = medbook_rates(f"sqlite:///{tmp / 'medbook.db'}", tmp, s.medbook, tape)
    helper = engine_for(f"sqlite:///{tmp / 'ceiling.db'}", tmp)
    form = medbook_form(register_people(helper, 1, seed=9)[0], {"passport_scan": "a" * 32, "oms_scan": "b" * 32})
    # A ceiling is the best the stack can do: the best of three runs, so one slow moment of the
    # machine does not flatter the engine's ratio.
    ceiling = max(medbook_ceiling(tape, max(1, s.medbook // 3), helper.store.helpers, form) for _ in range(3))
    helper.db.dispose()
    _say(f"medbook SQLite {sqlite}, ceiling {ceiling:.1f}")
    with postgres_database("e2e") as url:
        pg = medbook_rates(url, tmp, s.medbook, tape)
    _say(f"medbook PostgreSQL {pg}")
    # The second core: two processes on one database (each step committed, real handlers).
    sqlite_two = medbook_parallel_rate(f"sqlite:///{tmp / 'medbook-two.db'}", tmp, s.medbook, 2)
    with postgres_database("e2e_two") as url:
        pg_two = medbook_parallel_rate(url, tmp, s.medbook, 2)
    _say(f"medbook, 2 processes: SQLite {sqlite_two:.1f}, PostgreSQL {pg_two:.1f}")
    run.add(
        Figure("e2e_sqlite_real", f"(1) medbook happy path, SQLite, real handlers, n={s.medbook}", sqlite["real"],
               "apps/s", f"≥ {SQLITE_TARGET_RATE:.0f}", sqlite["real"] >= SQLITE_TARGET_RATE,
               note="handlers incl. PDF + QR certificate"),
        Figure("e2e_sqlite_engine", "(1) same, SQLite, engine only (handler results replayed)", sqlite["engine"],
               "apps/s", f"≥ 0.6 × ceiling = {0.6 * ceiling:.1f}", sqlite["engine"] >= 0.6 * ceiling),
        Figure("e2e_pg_real", "(1) same, PostgreSQL, real handlers", pg["real"], "apps/s"),
        Figure("e2e_pg_engine", "(1) same, PostgreSQL, engine only", pg["engine"], "apps/s",
               f"≥ 0.4 × ceiling = {0.4 * ceiling:.1f}", pg["engine"] >= 0.4 * ceiling),
        Figure("e2e_ceiling", "(1) ceiling: plain SpiffWorkflow, same diagrams + results, JSON/step", ceiling,
               "apps/s", "ceiling"),
        Figure("e2e_sqlite_two", "(1) SQLite, real handlers, 2 processes on one database", sqlite_two, "apps/s",
               note="a step holds SQLite's one write lock from start to commit"),
        Figure("e2e_pg_two", "(1) PostgreSQL, real handlers, 2 processes on one database", pg_two, "apps/s",
               note="row locks: the processes overlap"),
    )
    clock = SimulatedClock(datetime(2026, 4, 30, 9, 0, tzinfo=UTC))
    six = engine_for(f"sqlite:///{tmp / 'six.db'}", tmp, clock, kind="tests")
    # Three rounds, each running the engine and then the ceiling on a third of the instances; each
    # side keeps its best round. The same estimator for both: a single long engine run against a
    # best-of-three ceiling charged every slow moment of this VM (its speed drifts by a third
    # within minutes) to the engine alone — the ratio swung 0.42–0.71 between back-to-back runs.
    per_round = max(1, s.six_steps // 3)
    rounds = [(six_step_rate(six, per_round), six_step_ceiling(per_round)) for _ in range(3)]
    six_rate, six_ceiling = max(r[0] for r in rounds), max(r[1] for r in rounds)
    _say("six steps, (engine, ceiling) per round: " + ", ".join(f"({e:.0f}, {c:.0f})" for e, c in rounds))
    costs = loop_costs(six, s.loop_marks)
    six.db.dispose()
    first, mid, last = s.loop_marks
    run.add(
        Figure("loop_first", f"(5) loop step cost, iteration {first}", costs[first], "ms", higher_is_better=False),
        Figure("loop_mid", f"(5) loop step cost, iteration {mid}", costs[mid], "ms", higher_is_better=False),
        Figure("loop_last", f"(5) loop step cost, iteration {last}", costs[last], "ms",
               f"≤ 2 × it.{first} = {2 * costs[first]:.2f}", costs[last] <= 2 * costs[first], higher_is_better=False),
    )
    timers = sqlite_timer_lateness(engine_for(f"sqlite:///{tmp / 'timers.db'}", tmp, clock, kind="tests"), clock,
                                   s.d_waiting, s.d_due)
    run.add(
        Figure("six_engine", f"(a) engine, 6-step instances/s, SQLite, best of 3 × {per_round}", six_rate, "inst/s",
               f"≥ 0.6 × (b) = {0.6 * six_ceiling:.1f}", six_rate >= 0.6 * six_ceiling),
        Figure("six_ceiling", "(b) plain SpiffWorkflow + JSON per step", six_ceiling, "inst/s", "ceiling"),
        Figure("timers_sqlite_p50", f"(d) timer lateness p50, {s.d_due} of {s.d_waiting} due, SQLite, 1 worker",
               timers["p50_ms"], "ms", higher_is_better=False),
        Figure("timers_sqlite_p99", f"(d) timer lateness p99, early={timers['early']}", timers["p99_ms"], "ms",
               "≤ 2000, none early", timers["p99_ms"] <= 2000 and timers["early"] == 0, higher_is_better=False),
    )


def http_section(run: Run, s: Sizes, tmp: Path) -> None:
    from benchmarks.http_bench import http_submissions, worklist_and_serve_memory

    with postgres_database("http") as url:
        h = http_submissions(url, tmp, s.http_clients, s.http_per_client, s.gunicorn_workers)
    _say(f"http {h}")
    where = f"{s.http_clients} clients, gunicorn {s.gunicorn_workers} sync workers, PostgreSQL"
    run.add(
        Figure("http_rate", f"(2) HTTP applications submitted/s ({where})", h["rate"], "apps/s",
               note="1 application = 2 uploads + start + form"),
        Figure("http_p50", f"(2) HTTP request latency p50 ({h['requests']} requests)", h["p50_ms"], "ms",
               higher_is_better=False),
        Figure("http_p95", "(2) HTTP request latency p95", h["p95_ms"], "ms", higher_is_better=False),
        Figure("http_p99", "(2) HTTP request latency p99", h["p99_ms"], "ms", "< 250", h["p99_ms"] < 250,
               higher_is_better=False,
               note=f"after 1 warm-up application per client (slowest warm-up request {h['warmup_max_ms']:.0f} ms)"),
        Figure("http_errors", "(2) HTTP errors", float(h["errors"]), "", "0", h["errors"] == 0,
               higher_is_better=False, note=h["first_error"][:80]),
        Figure("rss_gunicorn", "(6) peak RSS of a gunicorn worker after (2)", h["rss_mb"], "MB", "≤ 300",
               h["rss_mb"] <= 300, higher_is_better=False),
    )
    from benchmarks.work_count import work_per_application

    with postgres_database("work") as url:
        work = work_per_application(url, tmp, s.work_applications)
    _say(f"work {work}")
    run.add(
        Figure("http_calls", "(2) Python calls per application, one web process (count, not time)", work["calls"],
               "calls", higher_is_better=False, note="cProfile; the same code gives the same count on any VM"),
        Figure("http_statements", "(2) SQL statements per application, one web process", work["statements"],
               "stmts", higher_is_better=False),
    )
    small, large = s.worklist
    with postgres_database("worklist") as url:
        w = worklist_and_serve_memory(url, tmp, s.worklist, s.worklist_queries, s.serve_actions)
    _say(f"worklist {w}")
    growth = w[large]["p95_ms"] / max(0.001, w[small]["p95_ms"])
    run.add(
        Figure("worklist_small_p95", f"(3) worklist first page p95 via API, {small:,} open tasks", w[small]["p95_ms"],
               "ms", "< 50", w[small]["p95_ms"] < 50, higher_is_better=False),
        Figure("worklist_large_p95", f"(3) worklist first page p95 via API, {large:,} open tasks", w[large]["p95_ms"],
               "ms", "< 50", w[large]["p95_ms"] < 50, higher_is_better=False,
               note=f"p50 {w[large]['p50_ms']:.1f} ms; {w['open_tasks']:,} open"),
        Figure("worklist_growth", f"(3) worklist p95 growth {large:,} / {small:,}", growth, "×", "≤ 1.5 (flat)",
               growth <= 1.5, higher_is_better=False),
        Figure("generate_pg", f"demo generate --applications {large:,}, PostgreSQL",
               w[f"generate_{small}_s"] + w[f"generate_{large}_s"], "s", higher_is_better=False),
        Figure("rss_serve", f"(6) peak RSS of `medflow serve`, {large:,} instances, {s.serve_actions} completions",
               w["serve_rss_mb"], "MB", "≤ 300", w["serve_rss_mb"] <= 300, higher_is_better=False),
    )


def timers_section(run: Run, s: Sizes, tmp: Path) -> None:
    from benchmarks.timer_bench import timers

    with postgres_database("timers") as url:
        t = timers(url, tmp, s.timers_waiting, s.timers_burst, s.steady, s.steady_seconds, s.lead_seconds)
    _say(f"timers {t}")
    one, two, steady = t["one"], t["two"], t["steady"]
    scaling = two["rate"] / max(0.001, one["rate"])
    burst = f"{s.timers_burst:,} of {s.timers_waiting:,} due at once, PostgreSQL"
    run.add(
        Figure("timers_one_p50", f"(4) timer lateness p50, {burst}, 1 worker", one["p50_s"], "s", higher_is_better=False),
        Figure("timers_one_p99", "(4) timer lateness p99, 1 worker (burst)", one["p99_s"], "s", higher_is_better=False,
               note=f"early={one['early']}"),
        Figure("timers_one_rate", "(4) timers fired/s, 1 worker", one["rate"], "/s"),
        Figure("timers_two_p99", "(4) timer lateness p99, 2 workers (burst)", two["p99_s"], "s", higher_is_better=False,
               note=f"p50 {two['p50_s']:.1f} s, early={two['early']}"),
        Figure("timers_two_rate", "(4) timers fired/s, 2 workers", two["rate"], "/s"),
        Figure("timers_scaling", "(4) 2 workers / 1 worker", scaling, "×", "≥ 1.3", scaling >= 1.3),
        Figure("timers_steady_p99", f"(4) lateness p99 at steady state ({steady['rate']:.0f}/s, 2 workers)",
               steady["p99_s"], "s", "< 2", steady["p99_s"] < 2, higher_is_better=False,
               note=f"p50 {steady['p50_s']:.2f} s"),
        Figure("timers_duplicates", "(4) timers fired twice", float(t["duplicates"]), "", "0", t["duplicates"] == 0,
               higher_is_better=False),
        Figure("rss_worker", f"(6) peak RSS of `medflow worker`, {s.timers_waiting:,} waiting",
               max(one["rss_mb"], two["rss_mb"]), "MB", "≤ 300", max(one["rss_mb"], two["rss_mb"]) <= 300,
               higher_is_better=False),
    )


def scan_section(run: Run, s: Sizes, tmp: Path) -> None:
    from benchmarks.scan_bench import renewal_scan

    small, large = s.renewal
    with postgres_database("scan") as url:
        scan = renewal_scan(url, tmp, s.renewal)
    _say(f"renewal scan {scan}")
    growth = scan[large] / max(0.001, scan[small])
    run.add(
        Figure("renewal_small", f"(e) renewal scan, {small:,} documents with reminders, PostgreSQL", scan[small], "ms",
               higher_is_better=False),
        Figure("renewal_large", f"(e) renewal scan, {large:,} documents", scan[large], "ms", higher_is_better=False,
               note="the worker's periodic job, every renewal.scan_seconds"),
        Figure("renewal_growth", f"(e) renewal scan growth {large:,} / {small:,}", growth, "×", "≤ 1.5 (flat)",
               growth <= 1.5, higher_is_better=False),
    )


def incidents_section(run: Run, s: Sizes, tmp: Path) -> None:
    from benchmarks.incident_bench import group_retry_rates

    small, large = s.incidents
    with postgres_database("incidents") as url:
        pg = group_retry_rates(url, tmp / "incidents-pg", s.incidents)
    lite = group_retry_rates(f"sqlite:///{tmp / 'incidents.db'}", tmp / "incidents-sqlite", (large,))
    _say(f"incident group retry pg {pg} sqlite {lite}")
    growth = pg[large] / max(0.001, pg[small])
    run.add(
        Figure("incidents_pg_small", f"(f) a group's incidents scheduled for retry, {small:,} open, PostgreSQL",
               pg[small], "/s"),
        Figure("incidents_pg_large", f"(f) the same, {large:,} open", pg[large], "/s",
               note="one request of a supervisor after an outage"),
        Figure("incidents_pg_growth", f"(f) rate at {large:,} / at {small:,}", growth, "×", "≥ 0.7 (flat)",
               growth >= 0.7),
        Figure("incidents_sqlite_large", f"(f) the same, {large:,} open, SQLite", lite[large], "/s",
               note="with a 0.12 s pause between batches of 200 for other processes"),
    )


def report_section(run: Run, s: Sizes, tmp: Path) -> None:
    from benchmarks.period_report_bench import period_report_costs

    small, large = s.report
    with postgres_database("report") as url:
        pg = period_report_costs(url, tmp / "report-pg", s.report, s.report_month)
    lite = period_report_costs(f"sqlite:///{tmp / 'report.db'}", tmp / "report-sqlite", s.report, s.report_month)
    _say(f"period report pg {pg} sqlite {lite}")
    month = f"a month of {s.report_month:,} applications"
    for key, name, costs in (("pg", "PostgreSQL", pg), ("sqlite", "SQLite", lite)):
        growth = costs["report"][large] / max(0.001, costs["report"][small])
        run.add(
            Figure(f"report_{key}_small", f"(g) period report, {month}, {small:,} in the database, {name}",
                   costs["report"][small], "ms", higher_is_better=False),
            Figure(f"report_{key}_large", f"(g) the same, {large:,} in the database, {name}", costs["report"][large],
                   "ms", higher_is_better=False, note="/monitor/report: figures per procedure"),
            Figure(f"report_{key}_growth", f"(g) period report growth {large:,} / {small:,}, {name}", growth, "×",
                   "≤ 1.5 (flat)", growth <= 1.5, higher_is_better=False),
        )
    run.add(Figure("report_csv_large", f"(g) that month as CSV, {large:,} in the database, PostgreSQL",
                   pg["csv"][large], "ms", higher_is_better=False, note=f"{s.report_month:,} rows, streamed by pages"))


SECTIONS: list[tuple[str, Callable[[Run, Sizes, Path], None]]] = [
    ("engine", engine_section), ("http", http_section), ("timers", timers_section), ("scan", scan_section),
    ("incidents", incidents_section), ("report", report_section)]


def _ordered(run: Run) -> None:
    """Issue 5's figures first, then issue 2's; a figure a failed section did not produce shows "—"."""
    for key in KEYS:
        if run.get(key) is None:
            run.add(Figure(key, key, None, note="not measured (see ERROR)"))
    order = {key: i for i, key in enumerate(KEYS)}
    run.figures.sort(key=lambda f: order.get(f.key, len(KEYS)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (also BENCH_QUICK=1)")
    parser.add_argument("--only", default="", help="comma-separated sections: engine,http,timers,scan,incidents,report")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    sizes = QUICK if quick else FULL
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    run = Run(quick=quick)
    with tempfile.TemporaryDirectory(prefix="medflow-bench-") as tmp:
        for name, section in SECTIONS:
            if only and name not in only:
                continue
            started = time.perf_counter()
            _say(f"{name}…")
            try:
                section(run, sizes, Path(tmp))
            except Exception as exc:  # one broken section must not hide the others' figures
                run.errors[name] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc(file=sys.stderr)
            _say(f"{name} done in {time.perf_counter() - started:.0f} s")
    _ordered(run)
    results = Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS)
    baseline = load(RESULTS / "baseline.json")
    print(table(run, baseline))
    print(f"\nwritten: {save(run, results)}")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
