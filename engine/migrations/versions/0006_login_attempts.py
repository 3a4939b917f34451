"""login_attempts: the login throttle's count per client address, shared by all web processes

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("window", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", "window"),
    )
    op.create_index(op.f("ix_login_attempts_window"), "login_attempts", ["window"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_attempts_window"), table_name="login_attempts")
    op.drop_table("login_attempts")
