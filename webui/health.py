"""`/health` (liveness) and `/ready` (readiness) for load balancers and orchestrators.

``/health`` answers while the process can serve a request at all — it never touches the
database, so a database outage does not make the orchestrator restart every web process.
``/ready`` says whether this process should get traffic: the database answers and its schema is
at the newest migration this code knows (a process started before `medflow init` or after a
newer release migrated the database is not ready). 200 when ready, 503 with the reason otherwise.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from engine.db import MIGRATIONS_DIR
from webui.display import medflow

health = Blueprint("health", __name__)


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def readiness() -> tuple[bool, dict[str, Any]]:
    """(ready, details) — details name the failed check in Russian for the operator on duty."""
    started = time.perf_counter()
    heads = sorted(migration_heads())
    try:
        with medflow().db.read() as session:
            conn = session.connection()
            conn.execute(text("SELECT 1"))
            try:
                current = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            except SQLAlchemyError:
                current = []
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        return False, {"status": "unavailable", "database": "unreachable", "reason": f"база данных недоступна: {reason}",
                       "migrations": {"current": None, "head": heads}}
    details: dict[str, Any] = {"database": "ok", "migrations": {"current": current, "head": heads},
                               "check_ms": round((time.perf_counter() - started) * 1000, 1)}
    if current != heads:
        details.update(status="unavailable", reason="схема базы данных не на последней миграции: выполните `medflow init`")
        return False, details
    details["status"] = "ready"
    return True, details


@health.get("/health")
def live():  # type: ignore[no-untyped-def]
    return jsonify(status="ok")


@health.get("/ready")
def ready():  # type: ignore[no-untyped-def]
    ok, details = readiness()
    response = jsonify(details)
    response.status_code = 200 if ok else 503
    return response
