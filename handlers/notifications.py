"""Notices to applicants and staff, written to an outbox in the engine step's transaction.

The outbox row is committed together with the status change that caused it, so no notice is lost
when sending fails and none is sent for a step that rolled back. A dispatcher
(:mod:`handlers.notification_delivery`) sends pending rows by e-mail (SMTP) and SMS later.

Texts are templates an analyst may override in config.yaml (``notifications.templates.<kind>``,
``subject`` and ``body``), with ``{placeholders}`` filled from the call.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.handler_registry import CallContext, handler
from engine.instance_store import CREATED_IN_STEP
from engine.models import Instance
from handlers.service_models import REGISTERED_IN_STEP, ApplicationRecord, Notification
from handlers.services import environment, session_for

NOTIFIED_KEY = "medflow_notified_statuses"

TEMPLATES: dict[str, dict[str, str]] = {
    "status": {
        "subject": "Заявление {business_key}: {status}",
        "body": "Статус вашего заявления {business_key} изменился: «{status}».\n"
                "Подробности — в разделе «Мои заявления».",
    },
    "refusal_documents": {
        "subject": "Заявление {business_key} требует исправления",
        "body": "Заявление {business_key} не принято к рассмотрению: {reason}.\n"
                "Что исправить:\n{items}\n"
                "Исправьте и отправьте документы повторно до {deadline} включительно "
                "({days} раб. дн.). Если не успеть, заявление будет закрыто.",
    },
    "refusal_service": {
        "subject": "Отказано в предоставлении услуги по заявлению {business_key}",
        "body": "По заявлению {business_key} отказано в предоставлении услуги.\nПричина: {reason}\n{items}"
                "Вы можете подать новое заявление.",
    },
    "resubmission_expired": {
        "subject": "Заявление {business_key} закрыто",
        "body": "Срок исправления заявления {business_key} истёк {deadline}; заявление закрыто. "
                "Вы можете подать новое заявление.",
    },
    "issued": {
        # {issued} agrees with the document's gender: «оформлена» медкнижка, «оформлено» свидетельство.
        "subject": "{document} № {number} {issued}",
        "body": "По заявлению {business_key} {issued} {document_lower} № {number}, "
                "действует до {valid_until}.\nДокумент будет доступен в личном кабинете "
                "в течение 24 часов: {url}",
    },
    "payment_requested": {
        "subject": "Оплата печатной копии по заявлению {business_key}",
        "body": "Для изготовления печатной копии оплатите {amount} ₽ (заказ {order_id}).",
    },
    "expiry_reminder": {
        "subject": "Срок действия документа № {number} истекает {valid_until}",
        "body": "Срок действия документа № {number} истекает {valid_until}. "
                "Подайте заявление на продление заранее.",
    },
    "staff_reminder": {
        "subject": "Напоминание: заявление {business_key} ждёт рассмотрения",
        "body": "Заявление {business_key} ждёт рассмотрения; срок — {due}.",
    },
    "staff_escalation": {
        "subject": "Просрочено: заявление {business_key}",
        "body": "Срок рассмотрения заявления {business_key} истёк ({due}). Назначьте исполнителя.",
    },
    "activation": {
        "subject": "Личный кабинет медработника активирован",
        "body": "Заявление {business_key} одобрено: профессиональные сервисы личного кабинета включены.",
    },
    "qualification_confirmed": {
        "subject": "Квалификация подтверждена по заявлению {business_key}",
        "body": "Документы подтверждены и переданы в Федеральный регистр медицинских работников:\n{documents}",
    },
    "renewed": {
        "subject": "{document} № {number}: срок действия продлён до {valid_until}",
        "body": "По заявлению {business_key} срок действия документа № {number} продлён до {valid_until}. "
                "Обновлённый документ доступен в личном кабинете: {url}",
    },
    "renewal_expired": {
        "subject": "Срок действия документа № {number} истёк",
        "body": "Срок действия документа № {number} истёк {valid_until}, заявление на продление не подано. "
                "Для работы оформите документ заново.",
    },
    "message": {
        "subject": "Сообщение по заявлению {business_key}",
        "body": "{author}: {text}\nОтветить можно в разделе «Мои заявления».",
    },
    "substitution_named": {
        "subject": "Вы замещаете {absent_name} с {starts_on} по {ends_on}",
        "body": "{absent_name} отсутствует с {starts_on} по {ends_on}{reason}. На это время в разделе «Задачи» "
                "вам видны задачи групп {groups} и задачи, назначенные на {absent}; их можно взять себе "
                "и выполнить. Назначил: {by}.",
    },
    "substitution_cancelled": {
        "subject": "Замещение {absent_name} с {starts_on} по {ends_on} отменено",
        "body": "Вы больше не замещаете {absent_name} (отменил: {by}). Задачи, которые вы взяли себе, "
                "остаются у вас.",
    },
    "generic": {"subject": "Заявление {business_key}", "body": "{text}"},
}


class _Values(dict):  # type: ignore[type-arg]
    """Missing placeholders stay visible instead of failing the whole notice."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(kind: str, values: dict[str, Any], overrides: dict[str, Any] | None = None) -> tuple[str, str]:
    template = dict(TEMPLATES.get(kind) or TEMPLATES["generic"])
    template.update((overrides or {}).get(kind) or {})
    filled = _Values({k: _show(v) for k, v in values.items()})
    return template["subject"].format_map(filled), template["body"].format_map(filled)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(f"  • {item}" for item in value) if value else "  • —"
    if isinstance(value, dict):
        return "\n".join(f"  • {item}" for item in value.values()) if value else "  • —"
    return "" if value is None else str(value)


# Core, not session.add(): an ORM flush of one or two outbox rows cost more than the INSERT itself.
_INSERT_NOTIFICATIONS = insert(Notification.__table__)
_SENT = select(Notification.idempotency_key).where(Notification.idempotency_key.in_(bindparam("b_keys", expanding=True)))


def enqueue(
    session: Session, *, kind: str, values: dict[str, Any], email: str | None, phone: str | None,
    instance_id: int | None, business_key: str | None, idempotency_key: str | None = None,
    portal_status: str | None = None, templates: dict[str, Any] | None = None,
) -> list[Notification]:
    """Outbox rows for every channel the person can be reached on; a repeated key adds nothing.
    Returns what was inserted (not tracked by the session)."""
    subject, body = render(kind, {"business_key": business_key, **values}, templates)
    channels = [(channel, recipient, text, f"{idempotency_key}:{channel}" if idempotency_key else None)
                for channel, recipient, text in (("email", email, body), ("sms", phone, subject)) if recipient]
    keys = [key for *_, key in channels if key]
    sent = set(session.connection().scalars(_SENT, {"b_keys": keys})) if keys else set()
    now = clock.now()
    rows = [
        dict(idempotency_key=key, instance_id=instance_id, business_key=business_key, kind=kind, channel=channel,
             recipient=recipient, subject=subject, body=text, portal_status=portal_status, status="pending",
             attempts=0, created_at=now, next_attempt_at=now)
        for channel, recipient, text, key in channels if key not in sent
    ]
    if rows:
        session.connection().execute(_INSERT_NOTIFICATIONS, rows)
    if portal_status and instance_id is not None:
        session.info.setdefault(NOTIFIED_KEY, set()).add((instance_id, portal_status))
    return [Notification(**row) for row in rows]


def contacts(session: Session, instance_id: int) -> ApplicationRecord | None:
    registered = session.info.get(REGISTERED_IN_STEP, {}).get(instance_id)
    if registered is not None or instance_id in session.info.get(CREATED_IN_STEP, ()):
        return registered  # this step registered it, or the instance is new: the database has nothing else
    return session.scalar(select(ApplicationRecord).where(ApplicationRecord.instance_id == instance_id))


def status_listener(templates: dict[str, Any] | None = None) -> Any:
    """An ``InstanceStore.status_listeners`` entry: every status change notifies the applicant."""

    def on_status_change(session: Session, row: Instance, old: str | None, new: str) -> None:
        if (row.id, new) in session.info.get(NOTIFIED_KEY, set()):
            return  # a detailed notice about this very status went out in this step
        person = contacts(session, row.id)
        if person is None:
            return
        enqueue(session, kind="status", values={"status": new}, email=person.email, phone=person.phone,
                instance_id=row.id, business_key=row.business_key, portal_status=new, templates=templates,
                idempotency_key=f"status:{row.id}:{row.step_count}:{new}")

    return on_status_change


_NOTIFY_PARAMS = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"type": "string"}, "values": {"type": ["object", "null"]},
                   "portal_status": {"type": ["string", "null"]}},
}


@handler("notify_applicant", params=_NOTIFY_PARAMS)
def notify_applicant(
    kind: str, ctx: CallContext, values: dict[str, Any] | None = None, portal_status: str | None = None
) -> dict[str, Any]:
    """A notice to the applicant (e-mail and SMS); ``portal_status`` replaces the plain status notice."""
    session = session_for(ctx)
    env = environment(ctx)
    person = contacts(session, ctx.instance_id)
    if person is None:
        return {"queued": 0, "reason": "нет контактов заявителя"}
    rows = enqueue(session, kind=kind, values=values or {}, email=person.email, phone=person.phone,
                   instance_id=ctx.instance_id, business_key=ctx.business_key,
                   idempotency_key=ctx.idempotency_key, portal_status=portal_status,
                   templates=env.setting("notifications.templates"))
    return {"queued": len(rows)}


@handler("notify_staff", params={"type": "object", "required": ["group", "kind"],
                                 "properties": {"group": {"type": "string"}, "kind": {"type": "string"},
                                                "values": {"type": ["object", "null"]}}})
def notify_staff(group: str, kind: str, ctx: CallContext, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """A notice to an operator group's mailbox (``notifications.groups.<group>``)."""
    env = environment(ctx)
    mailbox = env.setting(f"notifications.groups.{group}") or f"{group}@medflow.local"
    rows = enqueue(session_for(ctx), kind=kind, values={"group": group, **(values or {})}, email=str(mailbox),
                   phone=None, instance_id=ctx.instance_id, business_key=ctx.business_key,
                   idempotency_key=ctx.idempotency_key, templates=env.setting("notifications.templates"))
    return {"queued": len(rows), "to": mailbox}
