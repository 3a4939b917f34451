"""(g) The period report of one month at 10,000 and at 100,000 applications in the database: the
figures of /monitor/report, and the month's applications as the CSV it streams.

The month (April 2026) holds the same applications at both sizes; the rest were filed and
finished in the five years before it. Its cost must follow the month, not the table: every
figure is a time range of an index (migration 0016). The rows are made with SQL and are not
runnable applications — the report reads columns only, never the serialized state.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text

from benchmarks.environment import engine_for
from engine.models import Definition, Instance, UserTask
from engine.reports import Period, csv_chunks

MONTH = Period(date(2026, 4, 1), date(2026, 4, 30), ZoneInfo("Europe/Moscow"))
_EARLIER = datetime(2021, 3, 1, 6, tzinfo=UTC)  # the other applications: filed from here …
_EARLIER_END = datetime(2026, 2, 15, 6, tzinfo=UTC)  # … to here, finished within 10 days (before March)
_CHUNK = 5_000
_FIRST_ID = 10_000_000  # clear of any application the set-up made
_OUTCOMES = ("Медицинская книжка выдана", "Медицинская книжка выдана", "Медицинская книжка выдана", "Отказано")


def period_report_costs(url: str, tmp: Path, sizes: tuple[int, ...], in_month: int,
                        runs: int = 7) -> dict[str, dict[int, float]]:
    """Median ms of the month's figures (``report``) and of its whole CSV (``csv``) at each size."""
    medflow = engine_for(url, tmp)
    result: dict[str, dict[int, float]] = {"report": {}, "csv": {}}
    try:
        with medflow.db.read() as session:
            definition = session.scalars(select(Definition.id).where(
                Definition.process_key == "medbook_issuance")).first()
        rng, made, month_rows = random.Random(7), 0, None
        names = {"medbook_issuance": "Медкнижка"}
        for size in sizes:
            while made < size:
                batch = min(_CHUNK, size - made)
                filed = [_in_month(rng) if made + i < in_month else _earlier(rng) for i in range(batch)]
                _insert(medflow.db, definition, made, filed, rng)
                made += batch
            if medflow.db.is_postgres:
                with medflow.db.write() as session:
                    session.execute(text("ANALYZE instances"))
                    session.execute(text("ANALYZE user_tasks"))
            report, rows = _median_ms(lambda: medflow.reports.applications(MONTH), runs)
            csv_ms, lines = _median_ms(lambda: sum(1 for _ in csv_chunks(medflow.reports.rows(MONTH), names)), runs)
            month_rows = month_rows or (rows, lines)
            if (rows, lines) != month_rows or lines != in_month + 1:  # the month is the same at every size
                raise RuntimeError(f"the month changed with the table: {rows}, {lines} lines")
            result["report"][size], result["csv"][size] = report, csv_ms
    finally:
        medflow.db.dispose()
    return result


def _median_ms(work: Any, runs: int) -> tuple[float, Any]:
    times, answer = [], None
    for _ in range(runs):
        started = time.perf_counter()
        answer = work()
        times.append((time.perf_counter() - started) * 1000)
    if isinstance(answer, list):
        answer = [figures.to_dict() for figures in answer]
    return statistics.median(times), answer


def _in_month(rng: random.Random) -> datetime:
    return MONTH.since + timedelta(seconds=rng.randrange(30 * 86_400))


def _earlier(rng: random.Random) -> datetime:
    return _EARLIER + timedelta(seconds=rng.randrange(int((_EARLIER_END - _EARLIER).total_seconds())))


def _insert(db: Any, definition: int, first: int, filed: list[datetime], rng: random.Random) -> None:
    instances, tasks = [], []
    for offset, created in enumerate(filed):
        number = first + offset
        finished = created + timedelta(days=rng.randrange(1, 10), hours=rng.randrange(8))
        status = rng.choice(("completed", "completed", "completed", "cancelled", "running"))
        instances.append(dict(
            id=_FIRST_ID + number, business_key=f"МК-Б-{number:07d}", process_key="medbook_issuance",
            definition_id=definition, status=status, state="{}", state_size=2, version=1, step_count=6,
            portal_status=rng.choice(_OUTCOMES) if status == "completed" else "На рассмотрении",
            created_at=created, updated_at=finished, completed_at=None if status == "running" else finished))
        for step, group in enumerate(("medbook_operators", "medbook_commission")):
            done = status == "completed" or step == 0
            tasks.append(dict(
                id=str(uuid.UUID(int=rng.getrandbits(128))), instance_id=_FIRST_ID + number,
                business_key=f"МК-Б-{number:07d}", process_key="medbook_issuance", element_id=f"review{step}",
                name="Проверка", candidate_group=group, status="completed" if done else "open",
                due_at=created + timedelta(days=5 + step), created_at=created,
                completed_at=created + timedelta(days=rng.randrange(1, 8)) if done else None,
                completed_by="operator1" if done else None))
    with db.write() as session:
        session.execute(insert(Instance), instances)
        session.execute(insert(UserTask), tasks)
