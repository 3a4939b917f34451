"""SQLite's write lock, taken in the order the writers of one process asked for it.

SQLite has no queue for its write lock: a writer that finds it held sleeps and tries again (1, 2,
5 ... then every 100 ms). A writer that commits and begins again at once — the timer worker
firing a burst batch after batch — takes it back within microseconds, so a web request waiting
beside it got in only when the burst ended (3,000 due timers: 2.5 s) or gave up as busy. Inside
one process (``medflow serve`` with its timer thread, the default) the writers now take tickets
and go in turn. Between processes SQLite's own polling remains (PostgreSQL is for several).
"""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy.exc import OperationalError


class WriteQueue:
    """A ticket lock: first come, first served, with a timeout that gives the turn away."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()

    def acquire(self, timeout: float | None) -> None:
        """Wait for this caller's turn; after ``timeout`` seconds raise the error SQLite's own
        busy timeout raises, so callers treat both alike (``engine.db.is_lock_timeout``)."""
        with self._turn:
            ticket = self._next_ticket
            self._next_ticket += 1
            if self._turn.wait_for(lambda: self._serving == ticket, timeout):
                return
            self._abandoned.add(ticket)
        raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))

    def release(self) -> None:
        with self._turn:
            self._serving += 1
            while self._serving in self._abandoned:  # those who stopped waiting lose their turn
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._turn.notify_all()
