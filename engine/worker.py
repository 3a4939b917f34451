"""Firing due timers and retries from the database.

A tick leases due jobs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share the
load), then fires them a few per transaction (``worker.fire_batch``), each alone if a batch
fails. A crash loses nothing: the lease expires and the job is taken again; firing is idempotent
because the job row is re-checked under the instance lock. APScheduler runs the tick inside `medflow serve` and alone in `medflow worker`.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.bootstrap import MedFlow
from engine.db import is_lock_timeout
from engine.errors import EngineError
from engine.heartbeats import Heartbeat, heartbeat_seconds

log = logging.getLogger("medflow.worker")


@dataclass
class TickResult:
    leased: int = 0
    fired: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Worker:
    def __init__(self, medflow: MedFlow, worker_id: str | None = None) -> None:
        self.medflow = medflow
        self.worker_id = worker_id or medflow.worker_id
        self.batch = int(medflow.settings.get("worker.batch_size", 100))
        self.fire_batch = max(1, int(medflow.settings.get("worker.fire_batch", 16)))
        self.lease = int(medflow.settings.get("worker.lease_seconds", 60))
        self.heartbeat = Heartbeat(medflow.db, self.worker_id, heartbeat_seconds(medflow))
        # A claim or a batch of jobs taking longer than this writes every thread's stack to
        # standard error: where a worker hangs (a handler waiting on the network) without a debugger.
        self.stuck_seconds = float(medflow.settings.get("worker.stuck_seconds", 120))
        self.stuck_report: TextIO = sys.__stderr__
        # ... and then ends a standalone worker's process (exit status 1): Python cannot stop the
        # hung thread, but its supervisor starts a fresh process, the leases bring its jobs back and
        # the closed connections free what it held. Never in serve, whose web requests it would end.
        self.exit_when_stuck = False
        self.backoff = 0.0
        self._retry_at = 0.0

    def tick(self) -> TickResult:
        """Fire everything due now (in batches until none is left)."""
        result = TickResult()
        if time.monotonic() < self._retry_at:
            return result  # backing off: the database was unavailable a moment ago
        sync = getattr(self.medflow.clock, "sync", None)
        self._watch()
        try:
            if sync is not None:
                sync()  # a simulated clock is read from the database: inside the try
            while True:
                ids = self.medflow.runtime.claim_due_jobs(self.worker_id, self.batch, self.lease)
                if not ids:
                    break
                result.leased += len(ids)
                for start in range(0, len(ids), self.fire_batch):
                    self._watch()  # progress: a long tick of many batches is not a stuck one
                    self._fire_together(ids[start:start + self.fire_batch], result)
                if len(ids) < self.batch:
                    break
            for job in self.medflow.periodic_jobs:
                self._watch()
                try:
                    job.run_if_due()
                except OperationalError:
                    raise
                except Exception as exc:  # a broken periodic job must not stop the timers
                    result.errors.append(f"{job.name}: {type(exc).__name__}: {exc}")
                    log.exception("periodic job %s failed", job.name)
            self.backoff = 0.0
        except OperationalError as exc:
            if is_lock_timeout(exc):
                # SQLite's one write lock held past database.lock_timeout_seconds by a long
                # command: the database is there, so the next tick simply tries again.
                result.errors.append(f"база данных занята другим процессом: {exc.orig}")
                log.info("database busy, claiming again at the next tick")
            else:
                # The database went away: wait longer each time, then resume where the leases say.
                self.backoff = min(60.0, max(1.0, self.backoff * 2))
                self._retry_at = time.monotonic() + self.backoff
                result.errors.append(f"база данных недоступна: {exc.orig}")
                log.warning("database unavailable, backing off %.0fs", self.backoff)
        finally:
            if self.stuck_seconds > 0:
                faulthandler.cancel_dump_traceback_later()
        self.heartbeat.tick_done(result.fired, result.failed, result.errors)
        return result

    def _watch(self) -> None:
        """Start the stuck-watch again from now (faulthandler keeps one: this replaces it)."""
        if self.stuck_seconds > 0:
            faulthandler.dump_traceback_later(self.stuck_seconds, exit=self.exit_when_stuck,
                                              file=self.stuck_report)

    def _fire_together(self, ids: list[int], result: TickResult) -> None:
        """One transaction for the lot; if it fails, each job alone, so the failure is
        pinned on its job and the others fire (a database outage still stops the tick)."""
        if len(ids) > 1:
            try:
                result.fired += self.medflow.runtime.fire_jobs(ids, self.worker_id)
                return
            except Exception as exc:
                log.info("batch of %d jobs rolled back (%s: %s); firing them one by one",
                         len(ids), type(exc).__name__, exc)
        for job_id in ids:
            self._fire(job_id, result)

    def _fire(self, job_id: int, result: TickResult) -> None:
        try:
            if self.medflow.runtime.fire_job(job_id, self.worker_id):
                result.fired += 1
        except (EngineError, StaleDataError) as exc:
            result.failed += 1
            result.errors.append(f"задание {job_id}: {exc}")
        except OperationalError as exc:
            if not is_lock_timeout(exc):
                raise  # the database went away: the tick backs off
            result.failed += 1  # a row held too long by someone else: the lease brings the job back
            result.errors.append(f"задание {job_id}: {exc.orig}")
        except Exception as exc:  # one broken instance must not stop the others
            result.failed += 1
            result.errors.append(f"задание {job_id}: {type(exc).__name__}: {exc}")
            log.exception("job %s failed", job_id)

    def scheduler(self, blocking: bool) -> BackgroundScheduler | BlockingScheduler:
        poll = float(self.medflow.settings.get("worker.poll_seconds", 0.25))
        scheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
        scheduler.add_job(self.tick, "interval", seconds=poll, max_instances=1, coalesce=True,
                          id="medflow-timers")
        return scheduler
