"""`make soak-http`: a steady mix of applicants and operators against gunicorn + PostgreSQL on
loopback for SOAK_MINUTES (default 30), then one verdict: zero 5xx, latency and memory flat,
every due timer fired once.

Applicants submit medical-book applications (two uploads, start, the form) and resubmit when an
operator asked for a correction; operators take tasks from their queue and approve or request a
correction; a supervisor lists applications. Timers fall due all the time: the product runs on
its simulated clock, moved 3 days every 20 seconds by `medflow clock advance`, so reminders,
escalations and expired correction windows fire in a separate `medflow worker`.

Latency is compared between the first and the last third of the run. Memory is compared between
the end of the first third (caches warm: the workflow cache fills in the first minutes) and the
end: growth after warm-up is what a leak looks like.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.environment import (
    engine_for,
    medbook_form,
    postgres_database,
    register_people,
    subprocess_env,
)
from benchmarks.http_bench import _tokens
from benchmarks.processes import Process, Server, children, current_rss_mb, run_medflow
from benchmarks.report import percentile
from handlers.scenarios.samples import sample_file


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[float, float, int]] = []  # (when, seconds, status)
        self.failures: list[str] = []
        self.counts: dict[str, int] = {}

    def done(self, what: str, response: httpx.Response | None, ok: bool = False) -> None:
        if ok or (response is not None and response.status_code == 200):
            with self.lock:
                self.counts[what] = self.counts.get(what, 0) + 1

    def call(self, http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            with self.lock:
                self.failures.append(f"{method} {path}: {type(exc).__name__}")
            return None
        with self.lock:
            self.samples.append((time.monotonic(), time.perf_counter() - started, response.status_code))
            if response.status_code >= 500:
                self.failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response


def applicant(base: str, token: str, people: list[dict[str, Any]], rec: Recorder, until: float) -> None:
    pdf, jpeg = sample_file("pdf"), sample_file("jpeg", dpi=300)
    mine: list[str] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while time.monotonic() < until:
            person = random.choice(people)
            docs = [rec.call(http, "POST", "/api/v1/documents", files={"file": f}) for f in
                    (("passport.pdf", pdf, "application/pdf"), ("oms.jpg", jpeg, "image/jpeg"))]
            started = rec.call(http, "POST", "/api/v1/instances", json={"process_key": "medbook_issuance", "data": {}})
            if started is not None and started.status_code == 201 and all(d is not None and d.status_code == 201 for d in docs):
                body = started.json()
                form = medbook_form(person, {"passport_scan": docs[0].json()["id"], "oms_scan": docs[1].json()["id"]})
                rec.done("submitted", rec.call(http, "POST", f"/api/v1/tasks/{body['open_tasks'][0]['id']}/complete",
                                               json={"data": form}))
                mine.append(body["business_key"])
            for key in random.sample(mine, min(3, len(mine))):
                found = rec.call(http, "GET", f"/api/v1/instances/{key}")
                if found is not None and found.status_code == 200 and "resubmission" in found.json().get("waiting_for_messages", []):
                    fresh = rec.call(http, "POST", "/api/v1/documents", files={"file": ("passport2.pdf", pdf, "application/pdf")})
                    if fresh is not None and fresh.status_code == 201:
                        rec.done("resubmitted", rec.call(http, "POST", "/api/v1/messages", json={
                            "name": "resubmission", "business_key": key,
                            "data": {"corrections": {"documents": {"passport_scan": fresh.json()["id"]}}}}))


def operator(base: str, token: str, rec: Recorder, until: float) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while time.monotonic() < until:
            page = rec.call(http, "GET", "/api/v1/tasks?limit=20")
            tasks = [t for t in (page.json() if page is not None and page.status_code == 200 else [])
                     if t["element_id"] == "review" and not t.get("assignee")]
            if not tasks:
                time.sleep(0.5)
                continue
            task = random.choice(tasks)
            claimed = rec.call(http, "POST", f"/api/v1/tasks/{task['id']}/claim")
            if claimed is None or claimed.status_code != 200:
                continue  # the other operator took it: a 409 is the expected answer
            decision = ({"decision": "approve"} if random.random() < 0.7 else
                        {"decision": "request_correction", "items": ["documents.passport_scan"],
                         "reason": "Скан паспорта нечитаем"})
            rec.done("decided", rec.call(http, "POST", f"/api/v1/tasks/{task['id']}/complete", json={"data": decision}))


def supervisor(base: str, token: str, rec: Recorder, until: float) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while time.monotonic() < until:
            rec.call(http, "GET", "/api/v1/instances?limit=50")
            time.sleep(1.0)


CLOCK_STEP, CLOCK_EVERY_S = "3d", 20.0


def clock_mover(env: dict[str, str], rec: Recorder, until: float) -> None:
    """Simulated time runs ahead of the wall clock, so the procedures' deadlines fall due."""
    while time.monotonic() < until:
        time.sleep(CLOCK_EVERY_S)
        try:
            run_medflow(["clock", "advance", CLOCK_STEP], env, timeout=120)
            rec.done("clock_moved", None, ok=True)
        except Exception as exc:  # reported in the verdict, not raised in a thread
            with rec.lock:
                rec.failures.append(f"clock advance: {exc}"[:300])


def main() -> None:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    with tempfile.TemporaryDirectory(prefix="medflow-soak-") as tmp_name, postgres_database("medflow_soak") as url:
        tmp = Path(tmp_name)
        medflow = engine_for(url, tmp)
        try:
            applicants = _tokens(medflow, "applicant", "soak_applicant", 6)
            operators = _tokens(medflow, "operator", "soak_operator", 2, ("medbook_operators",))
            (boss,) = _tokens(medflow, "supervisor", "soak_supervisor", 1)
            people = register_people(medflow, 60, seed=7)
        finally:
            medflow.db.dispose()
        env = subprocess_env(url, tmp, MEDFLOW_CLOCK="simulated")
        server = Server(env, tmp / "gunicorn-soak.log", gunicorn_workers=2)
        worker = Process([sys.executable, "-m", "engine.cli", "worker"], env, tmp / "worker-soak.log")
        rec, rss = Recorder(), []
        try:
            server.wait_ready()
            start = time.monotonic()
            until = start + minutes * 60
            threads = [threading.Thread(target=applicant, args=(server.base, t, people[i::6], rec, until), daemon=True)
                       for i, t in enumerate(applicants)]
            threads += [threading.Thread(target=operator, args=(server.base, t, rec, until), daemon=True) for t in operators]
            threads.append(threading.Thread(target=supervisor, args=(server.base, boss, rec, until), daemon=True))
            threads.append(threading.Thread(target=clock_mover, args=(env, rec, until), daemon=True))
            for thread in threads:
                thread.start()
            while time.monotonic() < until:
                time.sleep(min(15.0, max(0.0, until - time.monotonic())))
                workers = [current_rss_mb(pid) for pid in children(server.pid)]
                rss.append((time.monotonic(), max(workers or [0.0]), current_rss_mb(worker.pid)))
                if not worker.alive():
                    rec.failures.append(f"worker exited:\n{worker.tail()}")
                    break
            for thread in threads:
                thread.join(timeout=120)
        finally:
            server.stop()
            worker.stop()
        timers = timer_outcome(url)
        if timers["fired"] == 0:
            rec.failures.append(f"no timer fired; the worker's log ends:\n{worker.tail()}")
    report(rec, rss, start, minutes, timers)


def timer_outcome(url: str) -> dict[str, int]:
    """Timers fired, and any fired twice (the same timer task of an instance fired more than once)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            fired = conn.scalar(text("SELECT count(*) FROM jobs WHERE kind = 'timer' AND status = 'done'"))
            twice = conn.scalar(text(
                "SELECT count(*) FROM (SELECT instance_id, task_id FROM jobs WHERE kind = 'timer' AND status = 'done'"
                " GROUP BY instance_id, task_id, due_at HAVING count(*) > 1) AS d"))
            audited = conn.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'timer_fired'"))
    finally:
        engine.dispose()
    return {"fired": int(fired or 0), "twice": int(twice or 0), "audited": int(audited or 0)}


def report(rec: Recorder, rss: list[tuple[float, float, float]], start: float, minutes: float,
           timers: dict[str, int]) -> None:
    third = minutes * 60 / 3
    first = [s for when, s, _ in rec.samples if when - start < third]
    last = [s for when, s, _ in rec.samples if when - start >= 2 * third]
    p99_first, p99_last = percentile(first, 0.99) * 1000, percentile(last, 0.99) * 1000
    warm = [r for r in rss if r[0] - start <= third] or rss[:1]
    serve_warm, serve_end = (warm[-1][1], rss[-1][1]) if rss else (0.0, 0.0)
    worker_warm, worker_end = (warm[-1][2], rss[-1][2]) if rss else (0.0, 0.0)
    memory_ok = serve_end <= 1.1 * serve_warm and worker_end <= 1.1 * worker_warm
    rows = [
        ("duration (min)", f"{minutes:g}", ""),
        ("requests", str(len(rec.samples)), ""),
        ("applications submitted / decided / resubmitted",
         " / ".join(str(rec.counts.get(k, 0)) for k in ("submitted", "decided", "resubmitted")), ""),
        ("simulated clock moves (+3 days each)", str(rec.counts.get("clock_moved", 0)), ""),
        ("timers fired: jobs done / audit events / twice",
         f"{timers['fired']} / {timers['audited']} / {timers['twice']}", "> 0, equal / 0"),
        ("5xx and connection errors", str(len(rec.failures)), "0"),
        ("p99 first third / last third (ms)", f"{p99_first:.0f} / {p99_last:.0f}", "last ≤ 1.5 × first + 50"),
        ("serve RSS first / after 1st third / last (MB)",
         f"{rss[0][1]:.0f} / {serve_warm:.0f} / {serve_end:.0f}" if rss else "-", "last ≤ 1.1 × after 1st third"),
        ("worker RSS first / after 1st third / last (MB)",
         f"{rss[0][2]:.0f} / {worker_warm:.0f} / {worker_end:.0f}" if rss else "-", "last ≤ 1.1 × after 1st third"),
    ]
    ok = (not rec.failures and p99_last <= 1.5 * p99_first + 50 and memory_ok
          and timers["fired"] > 0 and timers["fired"] == timers["audited"] and timers["twice"] == 0)
    width = max(len(r[0]) for r in rows)
    print("MedFlow soak over HTTP (gunicorn 2 workers + medflow worker, PostgreSQL, "
          "6 applicants, 2 operators, 1 supervisor, timers due)")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>18}  {target}")
    print("verdict:", "held" if ok else "NOT HELD")
    for failure in rec.failures[:10]:
        print("  ", failure)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
