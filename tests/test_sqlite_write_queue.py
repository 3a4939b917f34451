"""SQLite: the writers of one process take its write lock in turn, so a command is not shut out by
a timer worker firing a burst batch after batch (SQLite itself has no queue: a waiting writer
polls and misses the instant between two transactions)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from engine.db import is_lock_timeout
from engine.definitions import collect_files
from engine.sqlite_write_queue import WriteQueue
from engine.worker import Worker
from tests.conftest import DIAGRAMS, make_medflow


def test_writers_go_in_the_order_they_came():
    queue, order = WriteQueue(), []
    queue.acquire(1)
    waiting = []
    for name in "abc":
        thread = threading.Thread(target=lambda n=name: (queue.acquire(5), order.append(n), queue.release()))
        thread.start()
        waiting.append(thread)
        time.sleep(0.05)  # each has taken its ticket before the next starts
    queue.release()
    for thread in waiting:
        thread.join()
    assert order == ["a", "b", "c"]


def test_a_writer_that_gives_up_passes_its_turn_on():
    queue = WriteQueue()
    queue.acquire(1)
    with pytest.raises(OperationalError) as gave_up:
        queue.acquire(0.1)  # the holder keeps it: this one times out, as SQLite's busy timeout does
    assert is_lock_timeout(gave_up.value)
    later = threading.Thread(target=lambda: (queue.acquire(5), queue.release()))
    later.start()
    queue.release()  # the turn skips the writer that left and reaches the one still waiting
    later.join(timeout=5)
    assert not later.is_alive()
    queue.acquire(0.1)  # and nobody holds it afterwards
    queue.release()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_commands_get_in_during_a_timer_burst(database_url, sim_clock):
    """A burst of 20 timers fired one per transaction, each holding the write lock 0.1 s (a slow
    registry inside the step): commands beside it wait for one transaction, far below their 1 s
    lock timeout; polling, they missed every gap and gave up."""
    from tests import bpmn_samples as b

    medflow = make_medflow(database_url, sim_clock, **{"database.lock_timeout_seconds": 1.0})
    try:
        medflow.definitions.deploy(collect_files([DIAGRAMS]))
        xml = b.bpmn(b.process("slow_registry", b.timer_event("wait", '"PT1H"'),
                               b.service_task("ask", "test_slow", {"seconds": "0.1"})))
        medflow.definitions.deploy({"slow_registry.bpmn": xml.encode()})
        waiting = [medflow.runtime.start("slow_registry", {})["id"] for _ in range(20)]
        sim_clock.advance(timedelta(hours=2))
        worker = Worker(medflow, "w-burst")
        worker.fire_batch = 1
        fired: list[int] = []
        burst = threading.Thread(target=lambda: fired.append(worker.tick().fired))
        burst.start()
        started = []
        while burst.is_alive():  # each would give up as busy after 1 s of waiting
            started.append(medflow.runtime.start("review_loop", {"applicant_name": "Петров"})["id"])
            time.sleep(0.05)
        burst.join()
        assert fired == [len(waiting)]
        assert len(started) >= 3  # they ran during the burst, not after it
        assert {medflow.queries.instance(i)["status"] for i in started} == {"running"}
    finally:
        medflow.db.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_connection_invalidated_in_a_transaction_gives_its_turn_back_once(database_url):
    """The error that invalidated it is the one raised (asking the dead connection for its turn
    raised PendingRollbackError over it), and the writers after it go in turn: none is skipped."""
    from sqlalchemy import text

    from engine.db import connect

    db = connect(database_url, lock_timeout=2)
    try:
        with pytest.raises(RuntimeError, match="сбой"), db.write() as session:
            session.execute(text("SELECT 1"))
            session.connection().invalidate()
            raise RuntimeError("сбой посреди шага")
        outcomes: list[str] = []

        def write() -> None:
            try:
                with db.write() as session:
                    session.execute(text("SELECT 1"))
                    time.sleep(0.05)
                outcomes.append("ok")
            except OperationalError as exc:
                outcomes.append(str(exc.orig))

        writers = [threading.Thread(target=write) for _ in range(3)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert outcomes == ["ok", "ok", "ok"]
    finally:
        db.dispose()
