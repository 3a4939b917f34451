"""The work one application costs a web process, counted rather than timed.

This VM's speed drifts by a third within minutes, so a 10% saving cannot be seen in a rate or a
latency from one run to the next. Counts can: the Python function calls (cProfile) and the SQL
statements one application of benchmark (2) costs, through the same API, in one process on
PostgreSQL. The same code gives the same counts (±0.1%) on any machine; the baseline comparison
then shows each change of the code's work, whatever the machine did meanwhile.

One client and one process: the bearer token is read once and then found in the process's cache,
which the 16 clients spread over 4 processes hit less often.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from pathlib import Path
from typing import Any

from sqlalchemy import event

from benchmarks.environment import engine_for, medbook_form, register_people
from benchmarks.http_bench import _tokens
from handlers.scenarios.samples import sample_file


def _count_statements(engines: set[Any]) -> list[int]:
    counter = [0]

    def seen(*_args: Any) -> None:
        counter[0] += 1

    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    return counter


def work_per_application(url: str, tmp: Path, n: int) -> dict[str, float]:
    """Calls and statements per application (2 uploads, start, the form), after 2 warm-up ones."""
    from webui.app import create_app

    medflow = engine_for(url, tmp)
    try:
        medflow.warm_up()
        token, = _tokens(medflow, "applicant", "work_applicant", 1)
        people = register_people(medflow, n + 2, seed=13)
        client = create_app(medflow).test_client()
        headers = {"Authorization": f"Bearer {token}"}
        pdf, jpeg = sample_file("pdf"), sample_file("jpeg", dpi=300)

        def post(path: str, expect: int, **kwargs: Any) -> Any:
            response = client.post(path, headers=headers, **kwargs)
            if response.status_code != expect:
                raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)[:200]}")
            return response.get_json()

        def application(person: dict[str, Any]) -> None:
            passport = post("/api/v1/documents", 201, data={"file": (io.BytesIO(pdf), "passport.pdf", "application/pdf")})
            oms = post("/api/v1/documents", 201, data={"file": (io.BytesIO(jpeg), "oms.jpg", "image/jpeg")})
            started = post("/api/v1/instances", 201, json={"process_key": "medbook_issuance", "data": {}})
            form = medbook_form(person, {"passport_scan": passport["id"], "oms_scan": oms["id"]})
            done = post(f"/api/v1/tasks/{started['open_tasks'][0]['id']}/complete", 200, json={"data": form})
            if not any(t["element_id"] == "review" for t in done["open_tasks"]):
                raise RuntimeError(f"application {started['business_key']}: {done.get('portal_status')}")

        for person in people[:2]:  # parsed diagrams, prepared statements, the token in the cache
            application(person)
        statements = _count_statements({medflow.db.write_engine, medflow.db.read_engine})
        profile = cProfile.Profile()
        profile.enable()
        for person in people[2:]:
            application(person)
        profile.disable()
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        return {"calls": calls / n, "statements": statements[0] / n}
    finally:
        medflow.db.dispose()
