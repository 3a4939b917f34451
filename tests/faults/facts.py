"""What the database says happened: audit events, jobs and instances counted straight from the tables.

Read through the engine's read session rather than ``medflow.queries`` where a test needs totals
over many instances (one query instead of one per instance).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from engine.bootstrap import MedFlow
from engine.models import AuditEvent, Incident, Instance, Job, MessageSubscription, UnmatchedMessage, UserTask


def actions(medflow: MedFlow, ref: int | str) -> Counter[str]:
    """How many audit events of each action one instance has."""
    return Counter(event["action"] for event in medflow.queries.history(ref))


# Every count is per process key: the shared test diagrams also hold start timers (hourly_report,
# after_holidays) that start instances of their own whenever a test moves the clock past them.


def audit_per_instance(medflow: MedFlow, action: str, process_key: str) -> Counter[int]:
    with medflow.db.read() as session:
        rows = session.execute(
            select(AuditEvent.instance_id, func.count())
            .join(Instance, Instance.id == AuditEvent.instance_id)
            .where(AuditEvent.action == action, Instance.process_key == process_key)
            .group_by(AuditEvent.instance_id)
        ).all()
    return Counter({instance_id: count for instance_id, count in rows})


def jobs_by_status(medflow: MedFlow, process_key: str, kind: str = "timer") -> Counter[str]:
    query = (select(Job.status, func.count()).join(Instance, Instance.id == Job.instance_id)
             .where(Job.kind == kind, Instance.process_key == process_key).group_by(Job.status))
    with medflow.db.read() as session:
        return Counter(dict(session.execute(query).all()))


def instances_by_status(medflow: MedFlow, process_key: str) -> Counter[str]:
    query = (select(Instance.status, func.count()).where(Instance.process_key == process_key)
             .group_by(Instance.status))
    with medflow.db.read() as session:
        return Counter(dict(session.execute(query).all()))


def table_counts(medflow: MedFlow) -> dict[str, int]:
    """Row counts of every table a step writes: equal before and after means nothing was half-written."""
    with medflow.db.read() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Instance, Job, UserTask, MessageSubscription, AuditEvent, Incident, UnmatchedMessage)
        }


def instance_versions(medflow: MedFlow) -> dict[int, tuple[int, str, int]]:
    """id → (version, status, step_count) of every instance."""
    with medflow.db.read() as session:
        rows = session.execute(select(Instance.id, Instance.version, Instance.status, Instance.step_count)).all()
    return {row.id: (row.version, row.status, row.step_count) for row in rows}
