"""Outbox and delivery: notices are rows first, then e-mails through a real (local) SMTP server."""

from __future__ import annotations

import email
import socket
from datetime import timedelta
from email.header import decode_header, make_header
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, select

from engine.accounts import Accounts
from engine.errors import ValidationFailed
from handlers.demo_registry_data import demo_applicant
from handlers.notification_delivery import LoggingSmsChannel, NotificationDispatcher, SmtpEmailChannel
from handlers.notifications import NOTIFIED_KEY, notify_applicant, notify_staff, render, status_listener
from handlers.registries import register_application
from handlers.service_models import Notification
from handlers.support import open_support_ticket
from tests.medflow_harness import another_call, handler_call, make_medflow


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture()
def mf(tmp_path, smtp_server):
    controller, _inbox = smtp_server
    return make_medflow(tmp_path, **{"smtp.port": controller.port, "smtp.host": "127.0.0.1"})


def _with_contacts(mf, email_address: str | None = "ivanova@example.ru", phone: str | None = "+79161234567") -> None:
    with handler_call(mf) as ctx:
        register_application(demo_applicant(0), ctx=ctx, contact={"email": email_address, "phone": phone})


def _outbox(mf) -> list[Notification]:
    with mf.db.read() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_render_fills_placeholders_and_lists() -> None:
    subject, body = render("refusal_documents", {"business_key": "МК-1", "reason": "нечитаемый скан",
                                                 "items": ["скан паспорта"], "deadline": "18.05.2026", "days": 5})
    assert subject == "Заявление МК-1 требует исправления"
    assert "  • скан паспорта" in body and "до 18.05.2026" in body
    assert render("status", {}, {"status": {"subject": "Новое: {status} {unknown}"}})[0] == "Новое: {status} {unknown}"


def test_applicant_notice_goes_out_by_smtp_and_sms(mf, smtp_server) -> None:
    _controller, inbox = smtp_server
    _with_contacts(mf)
    with handler_call(mf) as ctx:
        result = notify_applicant("issued", ctx=ctx, values={"document": "Электронная медкнижка", "number": "ЭМК-1",
                                                             "issued": "оформлена",
                                                             "document_lower": "электронная медкнижка",
                                                             "valid_until": "01.05.2027", "url": "http://x/verify/1"})
        repeated = notify_applicant("issued", ctx=ctx, values={})  # a retried step: same idempotency key
    assert result == {"queued": 2} and repeated == {"queued": 0}
    sms = LoggingSmsChannel()
    dispatcher = NotificationDispatcher(mf.db, mf.settings,
                                        {"email": SmtpEmailChannel.from_settings(mf.settings), "sms": sms})
    assert dispatcher.dispatch().sent == 2
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "ivanova@example.ru"
    assert str(make_header(decode_header(message["Subject"]))) == "Электронная медкнижка № ЭМК-1 оформлена"
    assert "в течение 24 часов" in message.get_payload(decode=True).decode("utf-8")
    assert sms.sent == [("+79161234567", "Электронная медкнижка № ЭМК-1 оформлена")]
    assert {n.status for n in _outbox(mf)} == {"sent"}
    commits: list[object] = []
    counted = commits.append
    event.listen(mf.db.write_engine, "commit", counted)
    assert dispatcher.dispatch().sent == 0  # nothing is sent twice
    event.remove(mf.db.write_engine, "commit", counted)
    assert commits == [], "an idle look took SQLite's write lock (every worker, every few seconds)"


def test_failed_delivery_is_retried_then_marked_failed(tmp_path) -> None:
    mf = make_medflow(tmp_path, **{"smtp.port": free_port(), "smtp.timeout": 2,
                                   "notifications.retry_delays": [60]})
    _with_contacts(mf, phone=None)
    with handler_call(mf) as ctx:
        notify_applicant("generic", ctx=ctx, values={"text": "Проверка"})
    dispatcher = NotificationDispatcher(mf.db, mf.settings)
    first = dispatcher.dispatch()
    assert (first.sent, first.retried) == (0, 1) and "ConnectionRefusedError" in first.errors[0]
    assert dispatcher.dispatch().retried == 0  # not due yet
    mf.clock.advance(timedelta(minutes=2))
    assert dispatcher.dispatch().failed == 1
    row = _outbox(mf)[0]
    assert (row.status, row.attempts) == ("failed", 2)


def test_status_listener_notifies_unless_a_detailed_notice_was_sent(mf) -> None:
    _with_contacts(mf, phone=None)
    listener = status_listener()
    instance = SimpleNamespace(id=1, business_key="МК-2026-000001", step_count=3)
    with mf.db.write() as session:
        listener(session, instance, None, "Заявление принято к рассмотрению")
        session.info[NOTIFIED_KEY] = {(1, "Заявление требует исправления")}
        listener(session, instance, None, "Заявление требует исправления")
        listener(session, SimpleNamespace(id=99, business_key="X", step_count=1), None, "Услуга оказана")
    rows = _outbox(mf)
    assert [(r.kind, r.subject) for r in rows] == [
        ("status", "Заявление МК-2026-000001: Заявление принято к рассмотрению")]


def test_staff_notice_and_support_ticket(mf) -> None:
    with handler_call(mf) as ctx:
        assert notify_staff("supervisors", "staff_escalation", ctx=ctx, values={"due": "18.05.2026"})["to"] == \
            "supervisors@medflow.local"
        ticket = open_support_ticket("repeated_refusal", ctx=another_call(ctx, "t2"))
        again = open_support_ticket("repeated_refusal", ctx=another_call(ctx, "t2"))
        second = open_support_ticket("sla_breach", ctx=another_call(ctx, "t3"))
    assert ticket == {"number": "ТП-2026-000001", "created": True}
    assert again == {"number": "ТП-2026-000001", "created": False}
    assert second["number"] == "ТП-2026-000002"
    recipients = [r.recipient for r in _outbox(mf)]
    assert recipients == ["supervisors@medflow.local", "support@medflow.local", "support@medflow.local"]


def test_contacts_registered_earlier_in_the_step_are_used_without_reading_them_again(mf) -> None:
    from tests.medflow_harness import recorded_statements

    with recorded_statements(mf.db) as statements, handler_call(mf) as ctx:
        register_application(demo_applicant(0), ctx=ctx, contact={"email": "new@example.ru", "phone": None})
        before = len(statements)
        assert notify_applicant("issued", ctx=ctx, values={}) == {"queued": 1}
        reads = [s for s in statements[before:] if "FROM applications" in s]
    assert reads == []
    assert [(n.channel, n.recipient) for n in _outbox(mf)] == [("email", "new@example.ru")]


def test_starting_an_application_does_not_look_for_contacts_it_cannot_have(mf) -> None:
    from tests.medflow_harness import deploy_processes, recorded_statements

    deploy_processes(mf)
    with recorded_statements(mf.db) as statements:
        started = mf.runtime.start("medbook_issuance", {}, actor="ivanova")
    assert started["open_tasks"]
    assert [s for s in statements if "FROM applications" in s] == []


def test_the_deputy_is_told_by_email_when_named_and_when_cancelled(mf, smtp_server) -> None:
    _controller, inbox = smtp_server
    accounts = Accounts(mf.db, mf.settings)
    accounts.create("olga", "пароль-для-теста-1", "Ольга Отпускова", role="operator", groups=["medbook_operators"],
                    email="olga@example.ru")
    accounts.create("pavel", "пароль-для-теста-1", "Павел Заместин", role="operator", email="pavel@example.ru")
    accounts.create("nomail", "пароль-для-теста-1", "Без почты", role="operator")
    named = mf.substitutions.add("olga", "pavel", mf.substitutions.today(), mf.substitutions.today(), "отпуск",
                                 actor="supervisor")
    mf.substitutions.add("pavel", "nomail", mf.substitutions.today() + timedelta(days=3),
                         mf.substitutions.today() + timedelta(days=4), actor="supervisor")  # nobody to write to
    with pytest.raises(ValidationFailed):  # refused: no notice either
        mf.substitutions.add("olga", "olga", mf.substitutions.today(), mf.substitutions.today(), actor="supervisor")
    mf.substitutions.cancel(named.id, actor="supervisor")
    dispatcher = NotificationDispatcher(mf.db, mf.settings, {"email": SmtpEmailChannel.from_settings(mf.settings)})
    assert dispatcher.dispatch().sent == 2
    day = f"{mf.substitutions.today():%d.%m.%Y}"
    subjects = [(m["To"], str(make_header(decode_header(m["Subject"])))) for m in inbox.messages]
    assert subjects == [("pavel@example.ru", f"Вы замещаете Ольга Отпускова с {day} по {day}"),
                        ("pavel@example.ru", f"Замещение Ольга Отпускова с {day} по {day} отменено")]
    body = inbox.messages[0].get_payload(decode=True).decode("utf-8")
    assert "(отпуск)" in body and "medbook_operators" in body and "Назначил: supervisor" in body
