"""No notification is sent twice when two dispatchers (serve + worker, or two workers) run at once.

The outbox is drained by every process's tick. Dispatcher A is held inside the SMTP send of a
notification while dispatcher B runs a whole pass; B must not send what A is sending.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from engine import clock
from handlers.notification_delivery import NotificationDispatcher
from handlers.service_models import Notification
from tests.faults.interleave import TIMEOUT, Actor

COUNT = 5


class HeldChannel:
    """An e-mail channel that records each send and holds the first one until told to go on."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.inside = threading.Event()
        self.go_on = threading.Event()
        self._held = False
        self._lock = threading.Lock()

    def send(self, recipient: str, subject: str, body: str) -> None:
        with self._lock:
            self.sent[subject] += 1
            hold, self._held = not self._held, True
        if hold:
            self.inside.set()
            # Bounded: an outbox that makes B wait for A (a lock held across the send) is correct too.
            self.go_on.wait(5.0)


def _queue(medflow, count: int) -> None:
    now = clock.now() - timedelta(seconds=1)
    with medflow.db.write() as session:
        for n in range(count):
            session.add(Notification(kind="status", channel="email", recipient=f"person{n}@example.ru",
                                     subject=f"Уведомление {n}", body="…", status="pending", attempts=0,
                                     created_at=now, next_attempt_at=now))


def test_two_dispatchers_never_send_the_same_notification_twice(medflow):
    _queue(medflow, COUNT)
    channel = HeldChannel()
    first = NotificationDispatcher(medflow.db, medflow.settings, channels={"email": channel})
    second = NotificationDispatcher(medflow.db, medflow.settings, channels={"email": channel})
    a = Actor("dispatcher-a", first.dispatch).begin()
    assert channel.inside.wait(TIMEOUT), "dispatcher A never reached a send"
    b = Actor("dispatcher-b", second.dispatch).begin()
    b_result = b.result()
    channel.go_on.set()
    a_result = a.result()
    assert a_result.error is None and b_result.error is None
    assert {subject: n for subject, n in channel.sent.items() if n > 1} == {}, "sent twice"
    assert sorted(channel.sent) == [f"Уведомление {n}" for n in range(COUNT)]
