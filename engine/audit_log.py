"""The append-only audit log, written once per transaction.

Events of a step are buffered in the session and inserted together just before commit (one
multi-row INSERT instead of one per event); a rolled-back step therefore leaves no event.
There is no update or delete path for audit rows anywhere in the code.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from engine.models import AuditEvent

_KEY = "medflow_audit"
# Core, not the ORM's bulk insert: the ORM path cost ~1 ms a step in bookkeeping alone.
_INSERT = insert(AuditEvent.__table__)


def buffer_audit(session: Session, row: dict[str, Any]) -> None:
    session.info.setdefault(_KEY, []).append(row)


@event.listens_for(Session, "before_commit")
def _write_buffered(session: Session) -> None:
    rows = session.info.pop(_KEY, None)
    if rows:
        session.connection().execute(_INSERT, rows)


@event.listens_for(Session, "after_rollback")
def _drop_buffered(session: Session) -> None:
    session.info.pop(_KEY, None)
