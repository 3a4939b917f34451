"""SQLite WAL checkpoints off the commit path.

By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit
copies the pages into the database file and syncs it. In a run of steps this was about half of
all commit time (six-step instances: 0.4–0.5 ms a commit instead of 0.2), and a stall for whichever
request happened to make that commit. Here commits never checkpoint (``wal_autocheckpoint=0``):
a daemon thread of each process runs a PASSIVE checkpoint every ``interval`` seconds on its own
connection. SQLite releases the GIL while it copies, so on two cores the copying runs beside the
steps. PASSIVE waits for nobody, so while steps go on appending it never catches up, and the WAL
would grow without end; each round therefore ends with a RESTART, which holds new writers back
while it copies the few pages appended during the PASSIVE pass (and waits for readers, at most
``restart_wait`` seconds, else it gives up until the next round), so that the next writer starts
the WAL from its beginning.

The thread is started by the first write transaction of a process, so a process forked after the
engine was built (gunicorn with ``preload_app``) starts its own instead of relying on its parent's.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger("medflow.db")


class Checkpointer:
    def __init__(self, path: str, interval: float = 0.25, restart_wait: float = 0.05) -> None:
        self.path = path
        self.interval = interval
        self.restart_wait = restart_wait
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Cheap when running; called at the start of every write transaction."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), name="medflow-wal-checkpoint",
                                            daemon=True)
            self._pid = os.getpid()
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """One round; (busy, WAL pages, pages copied) of its last checkpoint as SQLite reports them."""
        result = tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        if result[1] > 0:
            result = tuple(conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone())
        return result  # type: ignore[return-value]

    def _run(self, stop: threading.Event) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=self.restart_wait, check_same_thread=False,
                                   isolation_level=None)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoints: cannot open %s: %s", self.path, exc)
            return
        try:
            while not stop.wait(self.interval):
                try:
                    self.checkpoint(conn)
                except sqlite3.Error as exc:  # e.g. the file was removed: the next round tries again
                    log.debug("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()
