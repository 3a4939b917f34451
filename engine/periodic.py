"""Work the worker runs on a period besides timers: e.g. delivering the notification outbox
or starting renewal reminders. Handlers register theirs in ``setup(medflow)``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PeriodicJob:
    name: str
    interval_seconds: float
    run: Callable[[], Any]
    # Told the run's result: True when it stopped at its batch limit with more waiting, so that the
    # rest is done at the next ticks instead of one interval later.
    more: Callable[[Any], bool] | None = None
    last_run: float | None = field(default=None)  # None: never ran, due at once

    def due(self, now: float) -> bool:
        # Not "now - 0": time.monotonic() counts from boot, and a machine up for less than the
        # interval would wait for it before the first run.
        return self.last_run is None or now - self.last_run >= self.interval_seconds

    def run_if_due(self) -> bool:
        now = time.monotonic()
        if not self.due(now):
            return False
        self.last_run = now
        result = self.run()
        if self.more is not None and self.more(result):
            self.last_run = None
        return True
