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
    last_run: float = field(default=0.0)

    def due(self, now: float) -> bool:
        return now - self.last_run >= self.interval_seconds

    def run_if_due(self) -> bool:
        now = time.monotonic()
        if not self.due(now):
            return False
        self.last_run = now
        self.run()
        return True
