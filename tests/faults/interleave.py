"""Forcing the worst interleaving of two engine commands with real threads, without sleeps.

The paused command stops inside ``InstanceStore.save`` (the ``before_commit`` hook): it holds the
instance lock and has written its projections, but has not committed. The competing command is
then started in another thread, and :func:`wait_until_blocked` proves it is really waiting for
that lock — on PostgreSQL by a lock wait in ``pg_stat_activity``, on SQLite by the write
transaction it has begun (and by the thread still running) — before the pause is released.

>>> with Pause(medflow, "operator") as pause:                         # doctest: +SKIP
...     op = Actor("operator", lambda: runtime.complete(...)).begin()
...     pause.wait_reached()
...     timer = Actor("timer", lambda: runtime.fire_job(...)).begin()
...     wait_until_blocked(medflow, timer)
>>> op.result().error is None                                          # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text

from engine.bootstrap import MedFlow

# Generous: only a broken engine (a deadlock) ever waits this long; the tests never sleep for it.
TIMEOUT = 30.0


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


class Actor(threading.Thread):
    """A thread that runs one engine command and keeps its result or exception."""

    def __init__(self, name: str, action: Callable[[], Any]) -> None:
        super().__init__(name=name, daemon=True)
        self._action = action
        self.outcome = Outcome()
        self.began = threading.Event()

    def begin(self) -> Actor:
        self.start()
        return self

    def run(self) -> None:
        try:
            self.outcome.value = self._action()
        except BaseException as exc:  # the test inspects whatever happened, SystemExit included
            self.outcome.error = exc

    def result(self, timeout: float = TIMEOUT) -> Outcome:
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"{self.name} did not finish in {timeout:.0f}s: a deadlock?")
        return self.outcome


class StatementWatch:
    """Marks each Actor when it asks for its process's turn to write (SQLite) or sends its first
    statement on the write engine; on SQLite either may block (the turn, or the BEGIN IMMEDIATE
    against another process). :func:`wait_until_blocked` needs the mark to know the actor got
    that far."""

    def __init__(self, medflow: MedFlow) -> None:
        self.engine = medflow.db.write_engine
        self.queue = medflow.db.write_queue

    @staticmethod
    def _announce(*_args: Any) -> None:
        thread = threading.current_thread()
        if isinstance(thread, Actor):
            thread.began.set()

    def __enter__(self) -> StatementWatch:
        event.listen(self.engine, "before_cursor_execute", self._announce)
        if self.queue is not None:
            acquire = self.queue.acquire
            self.queue.acquire = lambda timeout: (self._announce(), acquire(timeout))[1]  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._announce)
        if self.queue is not None:
            del self.queue.acquire  # the class's method again


class Pause:
    """Stops the first step saved by thread ``thread_name`` just before its commit."""

    def __init__(self, medflow: MedFlow, thread_name: str) -> None:
        self.medflow = medflow
        self.thread_name = thread_name
        self.reached = threading.Event()
        self._release = threading.Event()
        self._used = False
        self._watch = StatementWatch(medflow)

    def _hook(self, _row: object) -> None:
        if threading.current_thread().name != self.thread_name or self._used:
            return
        self._used = True
        self.reached.set()
        if not self._release.wait(TIMEOUT):
            raise RuntimeError("the paused step was never released")

    def __enter__(self) -> Pause:
        if self.medflow.store.before_commit is not None:
            raise RuntimeError("another test hook is installed")
        self.medflow.store.before_commit = self._hook
        self._watch.__enter__()
        return self

    def wait_reached(self) -> None:
        if not self.reached.wait(TIMEOUT):
            raise AssertionError(f"{self.thread_name} never reached its commit")

    def release(self) -> None:
        self._release.set()

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.medflow.store.before_commit = None
        self._watch.__exit__()


def postgres_lock_waits(medflow: MedFlow) -> int:
    """Backends of this database now waiting for a row or transaction lock."""
    with medflow.db.read_engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )).scalar_one())


def wait_until_blocked(medflow: MedFlow, actor: Actor) -> None:
    """Return once ``actor`` is waiting for another transaction's lock (fail if it finished).

    Needs a :class:`StatementWatch` (a :class:`Pause` holds one) active while the actor starts.
    """
    deadline = time.monotonic() + TIMEOUT
    while not actor.began.wait(0.01):
        if not actor.is_alive():
            raise AssertionError(f"{actor.name} finished without a write transaction: {actor.outcome}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{actor.name} never started a write transaction")
    if medflow.db.is_postgres:
        while postgres_lock_waits(medflow) == 0:
            if not actor.is_alive():
                raise AssertionError(f"{actor.name} finished instead of waiting for the lock: {actor.outcome}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{actor.name} is not waiting for a lock")
            time.sleep(0.005)  # polling an observable condition, not timing the race
        return
    # SQLite: the actor began its write transaction while the paused writer holds the database
    # (it waits for its turn, or in BEGIN IMMEDIATE for another process). The thread must still be
    # waiting a moment later (it can only leave with "database is locked" after the lock
    # timeout); this check proves the wait, the ordering is already forced.
    actor.join(0.2)
    if not actor.is_alive():
        raise AssertionError(f"{actor.name} finished instead of waiting for the lock: {actor.outcome}")
