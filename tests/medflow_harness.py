"""Building a throw-away engine with the handlers for tests: tmp SQLite, simulated clock, demo data.

>>> medflow = make_medflow(tmp_path)                     # doctest: +SKIP
>>> with handler_call(medflow) as ctx:                   # doctest: +SKIP
...     register_application(applicant, ctx=ctx)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

import handlers
from engine.bootstrap import MedFlow, build
from engine.clock import SimulatedClock
from engine.config import load_settings
from engine.db import Database
from engine.definitions import collect_files
from engine.handler_registry import CallContext
from handlers.services import SERVICES_KEY, step_session

PROJECT = Path(__file__).resolve().parent.parent
# A Thursday before the May holidays of 2026, 12:00 Moscow time.
DEFAULT_START = datetime(2026, 4, 23, 9, 0, tzinfo=UTC)


def make_medflow(tmp_path: Path, start: datetime = DEFAULT_START, **overrides: Any) -> MedFlow:
    settings = load_settings().with_overrides({
        "database.url": f"sqlite:///{tmp_path / 'medflow.db'}",
        "clock": "simulated",
        "paths.documents": str(tmp_path / "documents"),
        "paths.forms": str(PROJECT / "forms"),
        **overrides,
    })
    medflow = build(settings, clock=SimulatedClock(start))
    handlers.setup(medflow, create_tables=True, seed_demo=True)
    return medflow


def deploy_processes(medflow: MedFlow, *names: str) -> None:
    paths = [PROJECT / "processes" / name for name in names] if names else [PROJECT / "processes"]
    medflow.definitions.deploy(collect_files(paths), actor="test")


@contextmanager
def handler_call(medflow: MedFlow, business_key: str = "МК-2026-000001", instance_id: int = 1,
                 process_key: str = "medbook_issuance", element_id: str = "task",
                 task_id: str = "00000000-0000-0000-0000-000000000001") -> Iterator[CallContext]:
    """A call context inside one write transaction, as a service task would see it."""
    ctx = CallContext(instance_id=instance_id, business_key=business_key, process_key=process_key,
                      element_id=element_id, task_id=task_id, attempt=1, now=medflow.clock.now(),
                      idempotency_key=f"{instance_id}:{task_id}", services=medflow.store.services)
    assert SERVICES_KEY in ctx.services
    with medflow.db.write() as session, step_session(session):
        yield ctx


@contextmanager
def recorded_statements(db: Database, parameters: list[Any] | None = None) -> Iterator[list[str]]:
    """The SQL the database's connections send while the block runs (both engines); each one's
    parameters go to ``parameters``, in the same order, when a list is given."""
    seen: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        seen.append(statement)
        if parameters is not None:
            parameters.append(params)

    engines = {db.write_engine, db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)


def another_call(ctx: CallContext, task_id: str) -> CallContext:
    return replace(ctx, task_id=task_id, idempotency_key=f"{ctx.instance_id}:{task_id}")


from handlers.scenarios.samples import image_bytes, pdf_bytes, sample_file  # noqa: E402,F401  (re-exported for tests)
