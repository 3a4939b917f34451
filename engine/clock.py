"""One injectable clock for the whole engine, SpiffWorkflow's timers included.

SpiffWorkflow decides whether a timer fired by calling ``datetime.now(timezone.utc)`` inside
``SpiffWorkflow.bpmn.specs.event_definitions.timer``; we replace that module's ``datetime`` with a
subclass whose ``now()`` asks the active clock, so simulated time moves Spiff's timers too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock(Protocol):
    def now(self) -> datetime: ...


class RealClock:
    """Wall-clock UTC time."""

    simulated = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """Frozen time that moves only when told to: for demos and tests.

    ``loader``/``saver`` let the value live in the database, so that `medflow clock advance`
    in one process moves time for the server and the worker too.
    """

    simulated = True

    def __init__(
        self,
        start: datetime | None = None,
        loader: Callable[[], datetime | None] | None = None,
        saver: Callable[[datetime], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._loader = loader
        self._saver = saver
        self._now = _aware(start or datetime.now(UTC))

    def now(self) -> datetime:
        return self._now

    def sync(self) -> None:
        """Re-read the stored time (another process may have moved it)."""
        if self._loader is not None:
            stored = self._loader()
            if stored is not None:
                with self._lock:
                    self._now = _aware(stored)

    def set(self, when: datetime) -> datetime:
        with self._lock:
            self._now = _aware(when)
            if self._saver is not None:
                self._saver(self._now)
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        self.sync()
        return self.set(self._now + delta)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("время должно быть указано с часовым поясом")
    return value.astimezone(UTC)


_active: Clock = RealClock()


def get_clock() -> Clock:
    return _active


def install_clock(clock: Clock) -> Clock:
    """Make ``clock`` the time source of the engine and of SpiffWorkflow's timers."""
    global _active
    _active = clock
    return clock


def now() -> datetime:
    return _active.now()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        current = _active.now()
        return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)


_spiff_timer.datetime = _ClockDatetime


_DURATION = re.compile(r"^\s*(\d+)\s*(wd|d|h|m|s|w)\s*$", re.IGNORECASE)


def parse_advance(text: str) -> tuple[int, str]:
    """Parse '11d', '3h', '10wd' (working days) into (amount, unit).

    >>> parse_advance("11d")
    (11, 'd')
    """
    match = _DURATION.match(text)
    if not match:
        raise ValueError(
            f"не понимаю «{text}»: ожидается число и единица — d (дни), wd (рабочие дни), "
            "h (часы), m (минуты), s (секунды), w (недели), например 11d"
        )
    return int(match.group(1)), match.group(2).lower()


def simple_delta(amount: int, unit: str) -> timedelta:
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "w": "weeks"}
    return timedelta(**{units[unit]: amount})
