"""The Alembic migrations build exactly the schema the models describe, on both databases: a
column or index added to a model without its migration (or the reverse) fails here, not in a
production upgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import handlers.registry_models  # noqa: F401  (their tables join the metadata)
import handlers.service_models  # noqa: F401
from engine.models import Base


def test_migrated_schema_matches_the_models(medflow) -> None:
    with medflow.db.write_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_jobs_table_keeps_its_rows_through_0008(medflow, sim_clock) -> None:
    """0008 rebuilds `jobs` on SQLite (batch mode): a waiting timer must still fire after it."""
    from datetime import timedelta

    from alembic import command
    from alembic.config import Config

    from engine.db import MIGRATIONS_DIR
    from engine.worker import Worker

    started = medflow.runtime.start("wait_working_days", {"days": 1})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with medflow.db.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
        command.upgrade(config, "head")
        connection.commit()
    sim_clock.advance(timedelta(days=40))  # and the lateness (over 2^31 ms) now fits
    assert Worker(medflow, "w1").tick().fired == 1
    assert medflow.queries.instance(started["id"])["status"] == "completed"


def test_0009_moves_the_renewal_watcher_out_of_the_details_and_back(medflow) -> None:
    import json
    from datetime import UTC, date, datetime

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, select

    from engine.db import MIGRATIONS_DIR
    from handlers.service_models import IssuedCertificate

    def certificate(number: str, watcher: str | None) -> dict:
        return dict(number=number, kind="medbook", holder_name="Смирнова Анна Андреевна",
                    details={"Категория работ": "Медицинская"}, valid_from=date(2026, 1, 1),
                    valid_until=date(2027, 1, 1), status="valid", issued_at=datetime(2026, 1, 1, tzinfo=UTC),
                    renewal_watcher=watcher)

    with medflow.db.write() as session:
        session.execute(insert(IssuedCertificate), [certificate("ЭМК-1", "ПР-2026-000009"), certificate("ЭМК-2", None)])
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with medflow.db.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
        old = dict(connection.exec_driver_sql("SELECT number, details FROM issued_certificates").all())
        command.upgrade(config, "head")
        connection.commit()
    as_json = [d if isinstance(d, dict) else json.loads(d) for d in (old["ЭМК-1"], old["ЭМК-2"])]  # SQLite: text
    assert as_json == [{"Категория работ": "Медицинская", "renewal_instance": "ПР-2026-000009"},
                       {"Категория работ": "Медицинская"}]
    with medflow.db.read() as session:
        rows = {r.number: (r.renewal_watcher, r.details) for r in session.scalars(select(IssuedCertificate))}
    assert rows == {"ЭМК-1": ("ПР-2026-000009", {"Категория работ": "Медицинская"}),
                    "ЭМК-2": (None, {"Категория работ": "Медицинская"})}


def test_0014_names_each_incidents_procedure_and_closes_those_of_finished_applications(medflow) -> None:
    from datetime import UTC, datetime

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, select

    from engine.db import MIGRATIONS_DIR
    from engine.models import Incident

    running = medflow.runtime.start("review_loop", {"applicant_name": "А"})
    cancelled = medflow.runtime.start("review_loop", {"applicant_name": "Б"})
    medflow.runtime.cancel(cancelled["id"], "supervisor1", "дубликат")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with medflow.db.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
        # As the engine before 0014 left them: no procedure, and open after the cancel.
        columns = ("instance_id", "task_id", "element_id", "error", "attempts", "status", "created_at")
        rows = [(running["id"], "t1", "review", "сбой", 3, "open", datetime(2026, 3, 1, tzinfo=UTC)),
                (cancelled["id"], "t2", "review", "сбой", 3, "open", datetime(2026, 3, 1, tzinfo=UTC))]
        old = Incident.__table__
        connection.execute(insert(old).values([dict(zip(columns, r, strict=True)) for r in rows]))
        command.upgrade(config, "head")
        connection.commit()
    with medflow.db.read() as session:
        found = {i.instance_id: (i.process_key, i.business_key, i.status, i.resolved_by)
                 for i in session.scalars(select(Incident))}
    assert found == {running["id"]: ("review_loop", running["business_key"], "open", None),
                     cancelled["id"]: ("review_loop", cancelled["business_key"], "resolved", "medflow migrate (0014)")}
    assert medflow.queries.open_incident_count() == 1
