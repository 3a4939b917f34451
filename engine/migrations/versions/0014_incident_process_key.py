"""Incidents name their procedure and application, and are read open-first by number

Retrying the incidents of an outage read them joined with every application, and PostgreSQL,
its statistics not yet caught up with a burst of incidents, joined them row by row (2,000
incidents: 1.2 s a batch). Lists showed the application's row id instead of its number.

Also resolves the open incidents of finished or cancelled applications: nothing is left to retry,
and they stayed open in every count (closing an application now resolves them).

Revision ID: 0014
Revises: 0013
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_incidents = sa.table("incidents", sa.column("instance_id", sa.BigInteger), sa.column("process_key", sa.String),
                      sa.column("business_key", sa.String), sa.column("status", sa.String),
                      sa.column("resolved_at", UTCDateTime()), sa.column("resolved_by", sa.String))
_instances = sa.table("instances", sa.column("id", sa.BigInteger), sa.column("process_key", sa.String),
                      sa.column("business_key", sa.String), sa.column("status", sa.String))


def upgrade() -> None:
    op.add_column("incidents", sa.Column("process_key", sa.String(200), nullable=True))
    op.add_column("incidents", sa.Column("business_key", sa.String(100), nullable=True))
    own = _instances.c.id == _incidents.c.instance_id
    op.execute(_incidents.update().values(
        process_key=sa.select(_instances.c.process_key).where(own).scalar_subquery(),
        business_key=sa.select(_instances.c.business_key).where(own).scalar_subquery()))
    closed = sa.select(_instances.c.id).where(_instances.c.status.in_(("completed", "cancelled")))
    op.execute(_incidents.update().where(_incidents.c.status == "open", _incidents.c.instance_id.in_(closed))
               .values(status="resolved", resolved_at=datetime.now(UTC), resolved_by="medflow migrate (0014)"))
    op.drop_index("ix_incidents_status", table_name="incidents")
    op.create_index("ix_incidents_open", "incidents", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_open", table_name="incidents")
    op.create_index("ix_incidents_status", "incidents", ["status"])
    with op.batch_alter_table("incidents") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("business_key")
        batch.drop_column("process_key")
