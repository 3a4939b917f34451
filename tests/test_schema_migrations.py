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
