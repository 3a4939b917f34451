"""(f) Retrying the incidents of an outage as one group: how many a supervisor's one request
schedules per second, at 1,000 and at 10,000 open incidents of the group.

The incidents are real: one application of the test procedure ``flaky_call`` whose registry call
failed with no retries left, cloned with its incident (new task ids, consistent with each clone's
state). The figure must not fall as the group grows: joined with the applications, PostgreSQL
planned a burst of fresh incidents as a nested loop (2,000: 1.2 s a batch; migration 0014). On
SQLite each batch is followed by a 0.12 s pause so that other processes get the write lock.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from benchmarks.environment import engine_for
from engine.bulk_data import Cloner
from engine.incident_retries import IncidentFilter
from tests import engine_test_handlers


def group_retry_rates(url: str, tmp: Path, sizes: tuple[int, ...]) -> dict[int, float]:
    """Incidents scheduled per second at each size; the group is emptied between sizes."""
    medflow = engine_for(url, tmp, kind="tests")
    medflow.store.retry_delays = []  # the first failure is an incident
    rng, rates = random.Random(6), {}
    try:
        cloner = Cloner(medflow.db, medflow.clock.now(), extra_tables=["incidents"], with_audit=False)
        for size in sizes:
            # A fresh template each time: the last one's incident is resolved, and so would be its clones'.
            engine_test_handlers.FLAKY_FAILURES["bench"] = 1
            template = medflow.runtime.start("flaky_call", {"key": "bench"}, actor="bench")["id"]
            cloner.clone(template, size - 1, rng)
            group = IncidentFilter(process_key="flaky_call", element_id="call", handler="test_flaky")
            open_now = medflow.queries.open_incident_count(group)
            if open_now != size:
                raise RuntimeError(f"{open_now} open incidents, expected {size}")
            started = time.perf_counter()
            result = medflow.runtime.retry_incidents(group, "bench")
            rates[size] = result.scheduled / (time.perf_counter() - started)
            if result.scheduled != size or result.remaining:
                raise RuntimeError(f"scheduled {result.scheduled} of {size}, {result.remaining} left")
    finally:
        engine_test_handlers.FLAKY_FAILURES.pop("bench", None)
        medflow.db.dispose()
    return rates
