"""SQLite: commits do not checkpoint the WAL; a background thread of the process does."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from engine.clock import RealClock, install_clock
from engine.definitions import collect_files
from tests.conftest import DIAGRAMS, make_medflow


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "medflow-wal-checkpoint"]


def test_the_wal_is_copied_into_the_database_by_the_background_thread(tmp_path: Path, sim_clock) -> None:
    path = tmp_path / "medflow.db"
    medflow = make_medflow(f"sqlite:///{path}", sim_clock, **{"engine.workflow_cache": 0})
    try:
        medflow.definitions.deploy(collect_files([DIAGRAMS]))
        with medflow.db.write_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0  # commits never do it
        before = path.stat().st_size
        ids = [medflow.runtime.start("wait_working_days", {"days": 1})["id"] for _ in range(150)]
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        # The pages of 150 new instances reached the database file while this process stayed open.
        assert path.stat().st_size > before, (before, os.path.getsize(f"{path}-wal"))
        assert len(ids) == 150 and medflow.queries.instance(ids[-1])["status"] == "running"
        assert len(_checkpoint_threads()) >= 1
    finally:
        medflow.db.dispose()
        install_clock(RealClock())
    assert medflow.db.checkpointer is not None and medflow.db.checkpointer._thread is None


def test_an_in_memory_database_has_no_checkpointer() -> None:
    from engine.db import connect

    memory = connect("sqlite://")
    try:
        assert memory.checkpointer is None
    finally:
        memory.dispose()
