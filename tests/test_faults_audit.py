"""The audit log is append-only: no code path updates or deletes it, and the database refuses to.

Three guards, each catching what the others cannot: a scan of the source for any UPDATE/DELETE of
`audit_events`; a watch on every SQL statement while a mixed workload runs; and the database's
own triggers (migration 0004), tried directly.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from engine.errors import MessageNotMatched
from engine.worker import Worker
from tests.faults.facts import table_counts

PROJECT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["engine", "handlers", "webui", "benchmarks"]
_ORM_WRITE = re.compile(r"\b(update|delete)\s*\(\s*AuditEvent\b|AuditEvent\.__table__\.(update|delete)\b")
_SQL_WRITE = re.compile(r"\b(UPDATE\s+audit_events|DELETE\s+FROM\s+audit_events|TRUNCATE\s+(TABLE\s+)?audit_events"
                        r"|DROP\s+TRIGGER[^\n]*audit_events)\b", re.IGNORECASE)


def _source_files() -> list[Path]:
    files = [p for d in SOURCE_DIRS for p in (PROJECT / d).rglob("*.py")]
    # Migrations name the table in their trigger definitions and downgrades: schema, not a code path.
    return [p for p in files if "migrations" not in p.parts and "node_modules" not in p.parts]


def test_no_code_path_updates_or_deletes_audit_events():
    # The patterns themselves, on what they must catch and what they must let through:
    for caught in ("session.execute(delete(AuditEvent).where(x))", "update( AuditEvent)", 'text("DELETE FROM audit_events")',
                   "TRUNCATE TABLE audit_events", "AuditEvent.__table__.update()", "DROP TRIGGER x ON audit_events"):
        assert _ORM_WRITE.search(caught) or _SQL_WRITE.search(caught), caught
    for allowed in ("session.execute(insert(AuditEvent), rows)", "select(AuditEvent).where(...)"):
        assert not (_ORM_WRITE.search(allowed) or _SQL_WRITE.search(allowed)), allowed
    offenders = []
    for path in _source_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _ORM_WRITE.search(line) or _SQL_WRITE.search(line):
                offenders.append(f"{path.relative_to(PROJECT)}:{number}: {line.strip()}")
    assert offenders == []


def test_audit_rows_are_only_ever_inserted_during_a_mixed_workload(medflow, sim_clock):
    statements: list[str] = []

    def watch(_conn, _cursor, statement: str, *_args) -> None:
        if re.search(r"\baudit_events\b", statement, re.IGNORECASE):
            statements.append(statement.split(None, 1)[0].upper())

    event.listen(medflow.db.write_engine, "before_cursor_execute", watch)
    try:
        key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
        (task,) = medflow.queries.tasks(business_key=key)
        medflow.runtime.claim(task["id"], "op")
        medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")
        medflow.runtime.send_message("resubmit", key, {"n": 1}, actor="applicant")
        with pytest.raises(MessageNotMatched):
            medflow.runtime.send_message("resubmit", key, {}, actor="applicant")
        expiring = medflow.runtime.start("answer_or_expire", {})
        sim_clock.advance(timedelta(days=7))
        Worker(medflow, "w-audit").tick()
        medflow.runtime.cancel(medflow.queries.instance(key)["id"], actor="supervisor", reason="тест")
        assert medflow.queries.instance(expiring["id"])["status"] == "completed"
    finally:
        event.remove(medflow.db.write_engine, "before_cursor_execute", watch)
    assert statements and set(statements) <= {"INSERT", "SELECT"}, sorted(set(statements))


def test_the_database_refuses_to_change_or_remove_audit_rows(medflow):
    medflow.runtime.start("review_loop", {"applicant_name": "А"})
    before = table_counts(medflow)["audit_events"]
    attempts = ["UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"]
    if medflow.db.is_postgres:
        attempts.append("TRUNCATE audit_events")
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"), medflow.db.write() as session:
            session.execute(text(statement))
    assert table_counts(medflow)["audit_events"] == before
    medflow.runtime.start("review_loop", {"applicant_name": "Б"})  # inserting still works
    assert table_counts(medflow)["audit_events"] > before
