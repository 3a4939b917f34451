"""Tables of the engine: definitions, instances, their projections and the audit log.

The serialized workflow is the source of truth for an instance; user tasks, jobs (timers and
retries) and message subscriptions are projections rebuilt from it in the same transaction, so
the worklist and the timer scan never need to deserialize a workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


BigId = BigInteger().with_variant(Integer(), "sqlite")


class Bundle(Base):
    """Files of one deployment, stored once per content hash."""

    __tablename__ = "bundles"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Definition(Base):
    __tablename__ = "definitions"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        UniqueConstraint("process_key", "bundle_hash"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(500))
    bundle_hash: Mapped[str] = mapped_column(ForeignKey("bundles.hash"))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(200))


class Instance(Base):
    __tablename__ = "instances"
    # Each ends in id: the lists are newest first (ORDER BY id DESC LIMIT n), read off the index
    # instead of sorting every matching application.
    __table_args__ = (
        Index("ix_instances_process_status", "process_key", "status", "id"),
        Index("ix_instances_process", "process_key", "id"),
        Index("ix_instances_status", "status", "id"),
        Index("ix_instances_started_by", "started_by", "id"),
        # The period report reads a month by when applications came in and when they were finished.
        Index("ix_instances_created", "created_at", "id"),
        Index("ix_instances_completed", "completed_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_key: Mapped[str] = mapped_column(String(100), unique=True)
    process_key: Mapped[str] = mapped_column(String(200))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    # running | completed | cancelled | incident
    status: Mapped[str] = mapped_column(String(20))
    # The status an applicant sees, driven by `portalStatus` properties in the diagram.
    portal_status: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(Text)
    state_size: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str | None] = mapped_column(String(200))
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    # Optimistic locking: an UPDATE that finds another version raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}


class UserTask(Base):
    __tablename__ = "user_tasks"
    __table_args__ = (
        Index("ix_user_tasks_queue", "status", "candidate_group", "due_at", "created_at", "id"),
        Index("ix_user_tasks_assignee", "assignee", "status", "due_at", "created_at", "id"),
        Index("ix_user_tasks_done", "status", "completed_at"),  # the SLA dashboard's recent end
        # One application's tasks in worklist order: its page, and an operator's view of it.
        Index("ix_user_tasks_business_key", "business_key", "status", "due_at", "created_at", "id"),
        # Every task in worklist order (a supervisor's list): a page, not all completed tasks sorted.
        Index("ix_user_tasks_due", "status", "due_at", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(100))
    process_key: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    candidate_group: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(200))
    form_schema: Mapped[str | None] = mapped_column(String(300))
    form_ui_schema: Mapped[str | None] = mapped_column(String(300))
    # open | completed | cancelled
    status: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))


class Job(Base):
    """Something the worker must do at a time: fire a timer or retry a failed service task."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Empty for a timer start event: firing it creates the instance.
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    process_key: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # timer | retry | start
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    expression: Mapped[str | None] = mapped_column(Text)
    calendar: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))  # waiting | done | cancelled
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    fired_at: Mapped[datetime | None]
    lateness_ms: Mapped[int | None] = mapped_column(BigInteger)  # a month late is over 2^31 ms
    # A start timer's cycle state: {"cycles": remaining (-1 = forever), "seconds": period}.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class MessageSubscription(Base):
    __tablename__ = "message_subscriptions"
    __table_args__ = (Index("ix_subscriptions_route", "message_name", "business_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(100))
    message_name: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class UnmatchedMessage(Base):
    __tablename__ = "unmatched_messages"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    received_by: Mapped[str | None] = mapped_column(String(200))


class Incident(Base):
    __tablename__ = "incidents"
    # Open ones by number: the pages of `medflow incidents` and the batches of a group's retry.
    __table_args__ = (Index("ix_incidents_open", "status", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    # The instance's, copied: an outage's incidents are grouped and retried by procedure, and
    # listed with their application's number, without joining every application (migration 0014).
    process_key: Mapped[str | None] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    handler: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # open | resolved
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class AuditEvent(Base):
    """Append-only: the engine inserts, nothing updates or deletes."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_instance", "instance_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str | None] = mapped_column(String(200))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Sequence(Base):
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ClockState(Base):
    __tablename__ = "clock_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    now: Mapped[datetime]


class WorkerHeartbeat(Base):
    """The last sign of life of each timer worker (``medflow worker``, or ``serve``'s own): a
    worker hung inside a step stops beating, which /metrics and ``medflow workers`` show."""

    __tablename__ = "worker_heartbeats"
    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ticks: Mapped[int] = mapped_column(BigInteger)
    fired: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
