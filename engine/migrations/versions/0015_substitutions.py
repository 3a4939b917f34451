"""substitutions: a deputy works an absent operator's queues and tasks for a period (замещение)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from engine.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "substitutions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("absent", sa.String(length=100), nullable=False),
        sa.Column("deputy", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_by", sa.String(length=200), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_substitutions_deputy", "substitutions", ["deputy", "ends_on"], unique=False)
    op.create_index("ix_substitutions_absent", "substitutions", ["absent", "ends_on"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_substitutions_absent", table_name="substitutions")
    op.drop_index("ix_substitutions_deputy", table_name="substitutions")
    op.drop_table("substitutions")
