"""accounts.password_temporary and password_set_at: a password a supervisor or admin gave (a new
account, a reset) holds until the person sets their own at the first login, and for a few days at
most

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("password_temporary", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("password_set_at")
        batch.drop_column("password_temporary")
