"""Timer workers' signs of life, in the database.

A worker stuck inside a step — a handler waiting on a network call without a timeout — fires
nothing more, and nothing said so: its leases ran out and other workers took its jobs, or, with
one worker, the timers just went late. Each worker now writes a heartbeat row after its ticks (at
most every ``worker.heartbeat_seconds``, so an idle worker on SQLite does not take the write lock
four times a second), and ``/metrics`` and ``medflow workers`` show how long ago each one beat.
Wall-clock time throughout: a simulated clock may stand still for days in a demo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import OperationalError

from engine.db import Database, upsert_statements
from engine.models import WorkerHeartbeat

log = logging.getLogger("medflow.worker")
_TABLE = WorkerHeartbeat.__table__
# Rows of workers gone this long are dropped when a worker starts.
FORGET_AFTER = timedelta(days=7)


_BEAT = upsert_statements(_TABLE, [_TABLE.c.worker_id], lambda insert: {
    name: insert.excluded[name] for name in ("beat_at", "ticks", "fired", "failed", "last_error")})
_FORGET = delete(_TABLE).where(_TABLE.c.beat_at < bindparam("b_before"))


def heartbeat_seconds(medflow: Any) -> float:
    return float(medflow.settings.get("worker.heartbeat_seconds", 10))


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class Heartbeat:
    """One worker's counters, written as its heartbeat row every ``every_seconds``."""

    def __init__(self, db: Database, worker_id: str, every_seconds: float,
                 now: Callable[[], datetime] = _wall_clock) -> None:
        self.db, self.worker_id, self.every, self.now = db, worker_id, every_seconds, now
        self.started_at = now()
        self.ticks = self.fired = self.failed = 0
        self.last_error: str | None = None
        self._written: float | None = None  # monotonic time of the last write; the first tick writes

    def tick_done(self, fired: int, failed: int, errors: list[str]) -> None:
        self.ticks += 1
        self.fired += fired
        self.failed += failed
        if errors:
            self.last_error = errors[-1][:500]
        if self._written is not None and time.monotonic() - self._written < self.every:
            return
        values = {"worker_id": self.worker_id, "started_at": self.started_at, "beat_at": self.now(),
                  "ticks": self.ticks, "fired": self.fired, "failed": self.failed, "last_error": self.last_error}
        try:
            with self.db.write() as session:
                connection = session.connection()
                if self._written is None:
                    connection.execute(_FORGET, {"b_before": values["beat_at"] - FORGET_AFTER})
                connection.execute(_BEAT[connection.dialect.name], values)
        except OperationalError as exc:  # the database is away: the tick backs off and says so
            log.debug("heartbeat not written: %s", exc)
            return
        self._written = time.monotonic()


@dataclass(frozen=True)
class WorkerState:
    worker_id: str
    started_at: datetime
    beat_at: datetime
    age_seconds: float
    alive: bool
    ticks: int
    fired: int
    failed: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "started_at": self.started_at.isoformat(), "beat_at": self.beat_at.isoformat()}


def worker_states(db: Database, every_seconds: float, now: Callable[[], datetime] = _wall_clock,
                  since: timedelta = timedelta(days=1)) -> list[WorkerState]:
    """Workers that beat within ``since``, newest first; alive = beat within 3 heartbeat periods
    (a tick that takes longer than that is stuck, or the process is gone)."""
    moment = now()
    with db.read_one() as connection:
        rows = connection.execute(select(_TABLE).where(_TABLE.c.beat_at >= moment - since)
                                  .order_by(_TABLE.c.beat_at.desc())).mappings().all()
    states = []
    for row in rows:
        age = max(0.0, (moment - row["beat_at"]).total_seconds())
        states.append(WorkerState(row["worker_id"], row["started_at"], row["beat_at"], age, age <= 3 * every_seconds,
                                  row["ticks"], row["fired"], row["failed"], row["last_error"]))
    return states
