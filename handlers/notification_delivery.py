"""Sending the outbox: e-mail through the configured SMTP server, SMS through a channel interface.

Delivery is at-least-once: a row is marked sent after the server accepted it, so a crash in
between sends it again. Failures are retried with growing delays, then the row is ``failed`` and
shows up for an administrator.

>>> NotificationDispatcher(medflow.db, medflow.settings).dispatch()   # doctest: +SKIP
DispatchResult(sent=2, failed=0, retried=0)
"""

from __future__ import annotations

import importlib
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

from sqlalchemy import select

from engine import clock
from engine.config import Settings
from engine.db import Database
from handlers.service_models import Notification

log = logging.getLogger("medflow.notifications")
RETRY_DELAYS = [60, 300, 1800, 7200]


class Channel(Protocol):
    def send(self, recipient: str, subject: str, body: str) -> None: ...


class SmtpEmailChannel:
    """Plain SMTP (optionally STARTTLS and login) to the server in ``smtp.*``."""

    def __init__(self, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpEmailChannel:
        get = settings.get
        return cls(str(get("smtp.host", "127.0.0.1")), int(get("smtp.port", 25)),
                   str(get("smtp.sender", "noreply@medflow.local")), get("smtp.username") or None,
                   get("smtp.password") or None, bool(get("smtp.starttls", False)), float(get("smtp.timeout", 10)))

    def send(self, recipient: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, recipient, subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or "medflow.local")
        message.set_content(body)  # UTF-8; the Russian subject is RFC 2047-encoded by the library
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class SmsChannel(Protocol):
    """An SMS gateway: ``send(phone, subject, body)``; only the short subject goes out as text."""

    def send(self, recipient: str, subject: str, body: str) -> None: ...


class LoggingSmsChannel:
    """The local stand-in for an SMS gateway: logs and remembers what it would have sent."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, recipient: str, subject: str, body: str) -> None:
        self.sent.append((recipient, subject))
        log.info("SMS to %s: %s", recipient, subject)


def _load(target: str, settings: Settings) -> Any:
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)(settings)


def default_channels(settings: Settings) -> dict[str, Channel]:
    sms = settings.get("notifications.sms_channel") or "handlers.notification_delivery:LoggingSmsChannel"
    return {"email": SmtpEmailChannel.from_settings(settings), "sms": _load(str(sms), settings)}


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)


# How long a dispatcher owns the rows it claimed before another may take them.
CLAIM_SECONDS = 300
# New notices, then those whose dispatcher's claim ran out (it crashed between send and record).
_DUE_STATUSES = ("pending", "sending")


class NotificationDispatcher:
    def __init__(self, db: Database, settings: Settings, channels: dict[str, Channel] | None = None) -> None:
        self.db = db
        self.channels = channels if channels is not None else default_channels(settings)
        self.delays = [int(d) for d in settings.get("notifications.retry_delays", RETRY_DELAYS)]

    def dispatch(self, limit: int = 100) -> DispatchResult:
        """Send what is due now; each row is claimed, then recorded, in short transactions."""
        result = DispatchResult()
        for notification_id in self._claim(limit):
            self._send_one(notification_id, result)
        return result

    def _claim(self, limit: int) -> list[int]:
        """Take due rows for this dispatcher before sending: another dispatcher (serve and worker,
        or two workers) then skips them. A row whose claim ran out (a crash between send and
        record) is due again: at most one resend, never a loss."""
        now = clock.now()
        if not self.db.is_postgres:
            # Every worker dispatches every few seconds; on SQLite an idle look must not take the
            # database-wide write lock from the requests (as Runtime.claim_due_jobs).
            with self.db.read_one() as connection:
                if connection.execute(select(Notification.id).where(
                        Notification.status.in_(_DUE_STATUSES), Notification.next_attempt_at <= now).limit(1)).first() is None:
                    return []
        with self.db.write() as session:
            rows: list[Notification] = []
            # Each status apart, earliest due first, read off the (status, next_attempt_at) index in
            # order: both at once (or ordered by id) made the database sort every due row, and SQLite
            # with statistics read the whole outbox — every notice ever sent — to find them.
            for status in _DUE_STATUSES:
                query = (select(Notification).where(Notification.status == status, Notification.next_attempt_at <= now)
                         .order_by(Notification.next_attempt_at).limit(limit - len(rows)))
                if self.db.is_postgres:
                    query = query.with_for_update(skip_locked=True)
                rows += session.scalars(query)
                if len(rows) >= limit:
                    break
            for row in rows:
                row.status, row.next_attempt_at = "sending", now + timedelta(seconds=CLAIM_SECONDS)
            return [row.id for row in rows]

    def _send_one(self, notification_id: int, result: DispatchResult) -> None:
        with self.db.read() as session:
            row = session.get(Notification, notification_id)
            if row is None or row.status != "sending":
                return
            channel, recipient, subject, body = row.channel, row.recipient, row.subject, row.body
        error = None
        try:
            sender = self.channels.get(channel)
            if sender is None:
                raise LookupError(f"канал «{channel}» не настроен")
            sender.send(recipient, subject, body)
        except Exception as exc:  # any delivery failure is recorded and retried later
            error = f"{type(exc).__name__}: {exc}"
        with self.db.write() as session:
            row = session.get(Notification, notification_id)
            if row is None:
                return
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", clock.now(), None
                result.sent += 1
            elif row.attempts > len(self.delays):
                row.status, row.last_error = "failed", error
                result.failed += 1
                result.errors.append(f"уведомление {notification_id}: {error}")
            else:
                row.status, row.last_error = "pending", error
                row.next_attempt_at = clock.now() + timedelta(seconds=self.delays[row.attempts - 1])
                result.retried += 1
                result.errors.append(f"уведомление {notification_id}: {error}")
