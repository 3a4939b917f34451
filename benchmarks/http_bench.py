"""Figures through HTTP: applications submitted by concurrent API clients, the worklist's first page
as the open tasks grow, and the memory of `medflow serve` on a large database.

The server runs as it does in production (gunicorn, `webui.wsgi:app`, on PostgreSQL) on a free
loopback port; the clients are threads of this process, each with its own connection. They use
urllib3, not httpx: they share the 2 cores with the server, and httpx spent 1.3–1.9 ms of CPU per
request there against urllib3's 0.7–0.8 (/health and an upload, measured alone).
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import urllib3

from benchmarks.environment import engine_for, medbook_form, register_people, subprocess_env
from benchmarks.processes import Server, run_medflow
from benchmarks.report import percentile
from engine.accounts import Accounts
from engine.bootstrap import MedFlow
from handlers.scenarios.samples import sample_file

WORKLIST_SHAPES = "medbook/review,clinician/review,clinician/identity,clinician/employer,qualification/review"


def _tokens(medflow: MedFlow, role: str, prefix: str, n: int, groups: tuple[str, ...] = ()) -> list[str]:
    accounts = Accounts(medflow.db, medflow.settings)
    tokens = []
    for i in range(n):
        name = f"{prefix}{i}"
        accounts.ensure(name, "bench-password-1", name, role, groups)
        tokens.append(accounts.issue_token(name, "bench"))
    return tokens


class _Client(threading.Thread):
    """One applicant submitting applications: two uploads, start, the form — as the portal does.

    The first application is the warm-up: the server processes have just started and 16 clients
    released at one instant arrive as one wave. Its latencies are kept apart (``warmup``) and the
    measured run starts when every client has finished it (``go``), as a load test's ramp-up.
    """

    def __init__(self, base: str, token: str, people: list[dict[str, Any]], ready: threading.Barrier,
                 go: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.base, self.people, self.ready, self.go = base, people, ready, go
        self.headers = {"Authorization": f"Bearer {token}"}
        self.latencies: list[float] = []
        self.warmup: list[float] = []
        self.errors: list[str] = []
        self.submitted = 0
        self._measuring = False

    def _call(self, http: urllib3.HTTPConnectionPool, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            response = http.request(method, path, headers=self.headers, **kwargs)
        except urllib3.exceptions.HTTPError as exc:
            self.errors.append(f"{method} {path}: {type(exc).__name__}")
            return None
        (self.latencies if self._measuring else self.warmup).append(time.perf_counter() - started)
        if response.status != expect:
            self.errors.append(f"{method} {path}: {response.status} {response.data[:200]!r}")
            return None
        return response.json()

    def _submit(self, http: urllib3.HTTPConnectionPool, person: dict[str, Any], pdf: bytes, jpeg: bytes) -> bool:
        # urllib3 draws a new multipart boundary for every request, as a browser does.
        passport = self._call(http, "POST", "/api/v1/documents", 201, fields={"file": ("passport.pdf", pdf, "application/pdf")})
        oms = self._call(http, "POST", "/api/v1/documents", 201, fields={"file": ("oms.jpg", jpeg, "image/jpeg")})
        started = self._call(http, "POST", "/api/v1/instances", 201, json={"process_key": "medbook_issuance", "data": {}})
        if not (passport and oms and started):
            return False
        form = medbook_form(person, {"passport_scan": passport["id"], "oms_scan": oms["id"]})
        task = started["open_tasks"][0]["id"]
        done = self._call(http, "POST", f"/api/v1/tasks/{task}/complete", 200, json={"data": form})
        if done is None:
            return False
        if any(t["element_id"] == "review" for t in done.get("open_tasks", [])):
            return True
        self.errors.append(f"application {started['business_key']}: {done.get('portal_status')}")
        return False

    def run(self) -> None:
        pdf, jpeg = sample_file("pdf"), sample_file("jpeg", dpi=300)
        with urllib3.connection_from_url(self.base, maxsize=1, timeout=60, retries=False) as http:
            self.ready.wait()
            self._submit(http, self.people[0], pdf, jpeg)
            self.go.wait()
            self._measuring = True
            for person in self.people[1:]:
                self.submitted += self._submit(http, person, pdf, jpeg)


def http_submissions(url: str, tmp: Path, clients: int, per_client: int, gunicorn_workers: int) -> dict[str, Any]:
    medflow = engine_for(url, tmp)
    try:
        tokens = _tokens(medflow, "applicant", "bench_applicant", clients)
        people = register_people(medflow, clients * (per_client + 1), seed=11)
    finally:
        medflow.db.dispose()
    server = Server(subprocess_env(url, tmp), tmp / "gunicorn-http.log", gunicorn_workers=gunicorn_workers)
    each = per_client + 1  # one warm-up application, then the measured ones
    try:
        server.wait_ready()
        ready, go = threading.Barrier(clients), threading.Barrier(clients + 1)
        threads = [_Client(server.base, tokens[i], people[i * each:(i + 1) * each], ready, go)
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        go.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    latencies = [v for t in threads for v in t.latencies]
    warmup = [v for t in threads for v in t.warmup]
    errors = [e for t in threads for e in t.errors]
    return {"rate": sum(t.submitted for t in threads) / elapsed, "requests": len(latencies),
            "p50_ms": percentile(latencies, 0.5) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "errors": len(errors), "first_error": errors[0] if errors else "",
            "warmup_max_ms": max(warmup, default=0.0) * 1000, "rss_mb": rss}


def _first_page_p95(base: str, token: str, queries: int) -> tuple[float, float, int]:
    latencies = []
    shown = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for i in range(queries + 5):
            started = time.perf_counter()
            response = http.get("/api/v1/tasks", params={"limit": 50})
            elapsed = time.perf_counter() - started
            response.raise_for_status()
            shown = len(response.json())
            if i >= 5:  # the first requests warm the connection pool and the caches
                latencies.append(elapsed)
    return percentile(latencies, 0.95) * 1000, percentile(latencies, 0.5) * 1000, shown


def _open_tasks(medflow: MedFlow) -> int:
    from sqlalchemy import func, select

    from engine.models import UserTask

    with medflow.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(UserTask).where(UserTask.status == "open")) or 0)


def worklist_and_serve_memory(url: str, tmp: Path, sizes: tuple[int, int], queries: int,
                              rss_actions: int) -> dict[str, Any]:
    """Worklist p95 at ``sizes[0]`` then ``sizes[1]`` open tasks (generated, additive), then the peak
    RSS of `medflow serve` doing mixed work on the large database."""
    medflow = engine_for(url, tmp)
    try:
        operator, = _tokens(medflow, "operator", "bench_operator", 1, ("medbook_operators", "frmr_operators"))
        supervisor, = _tokens(medflow, "supervisor", "bench_supervisor", 1)
    finally:
        medflow.db.dispose()
    env = subprocess_env(url, tmp)
    result: dict[str, Any] = {}
    generated = 0
    for size in sizes:
        started = time.perf_counter()
        run_medflow(["demo", "generate", "--applications", str(size - generated), "--seed", str(size),
                     "--shapes", WORKLIST_SHAPES], env)
        result[f"generate_{size}_s"] = time.perf_counter() - started
        generated = size
        server = Server(env, tmp / f"gunicorn-worklist-{size}.log", gunicorn_workers=2)
        try:
            server.wait_ready()
            p95, p50, shown = _first_page_p95(server.base, operator, queries)
        finally:
            server.stop()
        result[size] = {"p95_ms": p95, "p50_ms": p50, "shown": shown}
    medflow = engine_for(url, tmp)
    try:
        result["open_tasks"] = _open_tasks(medflow)
    finally:
        medflow.db.dispose()
    result["serve_rss_mb"] = _serve_memory(env, tmp, operator, supervisor, rss_actions)
    return result


def _serve_memory(env: dict[str, str], tmp: Path, operator: str, supervisor: str, actions: int) -> float:
    """Peak RSS of one `medflow serve` (web + timer worker) reading and completing many applications."""
    server = Server(env, tmp / "serve-memory.log")
    rng = random.Random(6)
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base, timeout=60) as http:
            staff = {"Authorization": f"Bearer {operator}"}
            boss = {"Authorization": f"Bearer {supervisor}"}
            newest = http.get("/api/v1/instances", params={"limit": 1}, headers=boss).json()[0]["id"]
            completed = 0
            while completed < actions:
                page = http.get("/api/v1/tasks", params={"limit": 50, "process_key": "medbook_issuance"},
                                headers=staff).json()
                if not page:
                    break
                for task in page:
                    if completed >= actions:
                        break
                    http.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"decision": "approve"}},
                              headers=staff).raise_for_status()
                    http.get(f"/api/v1/instances/{rng.randint(1, newest)}", headers=boss)
                    completed += 1
                http.get("/metrics").raise_for_status()
        return server.peak_rss_mb()
    finally:
        server.stop()
