"""The audit log cannot be changed or deleted, in the code and in the database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parents[1]


def test_database_refuses_update_and_delete_of_audit_rows(medflow):
    key = medflow.runtime.start("fee_parent", {"copies": 1})["business_key"]
    before = medflow.queries.history(key)
    assert before
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), medflow.db.write() as session:
            session.execute(text(statement))
    assert medflow.queries.history(key) == before


def test_no_code_path_updates_or_deletes_audit_rows():
    pattern = re.compile(r"(update|delete)\(\s*AuditEvent|(UPDATE|DELETE FROM)\s+audit_events", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("engine", "handlers", "webui")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
