"""jobs.lateness_ms as BIGINT: a timer fired 25 days or more after it fell due (workers stopped
for a month, a simulated clock moved by one) overflowed INTEGER on PostgreSQL and never fired

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("lateness_ms", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("lateness_ms", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True)
