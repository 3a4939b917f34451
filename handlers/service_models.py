"""The handlers' own tables: applications' subjects, stored documents, the notification outbox,
support tickets, issued certificates and payment orders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId

# session.info key: what a step registered about an application (written with Core, not tracked by
# the session), by instance id, so that a later handler of the same step does not read it back.
REGISTERED_IN_STEP = "medflow.registered_applications"


class ApplicationRecord(Base):
    """Who an application is about and how to reach them.

    Written by ``register_application`` at the first step, so that the duplicate check and the
    status notifications need neither deserialize a workflow nor trust the portal.
    """

    __tablename__ = "applications"
    __table_args__ = (Index("ix_applications_subject", "process_key", "snils"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(Integer, unique=True)
    business_key: Mapped[str] = mapped_column(String(100), unique=True)
    process_key: Mapped[str] = mapped_column(String(200))
    snils: Mapped[str | None] = mapped_column(String(11))
    full_name: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime]


class StoredDocument(Base):
    """An uploaded file's metadata; the bytes live on disk under ``paths.documents``/<id>."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Shown to people only; never used as a path.
    original_name: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    detected_type: Mapped[str | None] = mapped_column(String(20))  # pdf | jpg | png | other
    detected_mime: Mapped[str | None] = mapped_column(String(100))
    dpi_x: Mapped[int | None] = mapped_column(Integer)
    dpi_y: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # Готово к проверке | На проверке | Подтверждено | Отклонено
    status: Mapped[str] = mapped_column(String(40))
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    uploaded_at: Mapped[datetime]


class Notification(Base):
    """The outbox: a row per message to a person; a dispatcher sends pending rows later."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # status | refusal | reminder | issued | …
    channel: Mapped[str] = mapped_column(String(20))  # email | sms
    recipient: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    portal_status: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class SupportTicket(Base):
    __tablename__ = "support_tickets"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    reason: Mapped[str] = mapped_column(String(60))  # repeated_refusal | sla_breach | …
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # open | closed
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class IssuedCertificate(Base):
    """Every document the product issues (e-medbook, accreditation certificate) for /verify."""

    __tablename__ = "issued_certificates"
    # The renewal scheduler's query: valid documents without a watcher, earliest expiry first.
    __table_args__ = (Index("ix_issued_certificates_unwatched", "status", "renewal_watcher", "valid_until"),)
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # medbook | accreditation | qualification
    holder_name: Mapped[str] = mapped_column(String(300))
    snils: Mapped[str | None] = mapped_column(String(11), index=True)
    business_key: Mapped[str | None] = mapped_column(String(100))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    document_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))  # valid | revoked
    issued_at: Mapped[datetime]
    # Business key of the renewal instance that will remind the holder; None: none started yet.
    renewal_watcher: Mapped[str | None] = mapped_column(String(100))


class PaymentOrder(Base):
    __tablename__ = "payment_orders"
    __table_args__ = (UniqueConstraint("idempotency_key"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    purpose: Mapped[str] = mapped_column(String(300))
    amount_rub: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # created | paid | cancelled
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]


SERVICE_TABLES = [
    m.__table__
    for m in (ApplicationRecord, StoredDocument, Notification, SupportTicket, IssuedCertificate, PaymentOrder)
]
