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
