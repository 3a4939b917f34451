"""user_tasks (status, completed_at): the SLA dashboard reads the recently completed tasks

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_tasks_done", "user_tasks", ["status", "completed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_user_tasks_done", table_name="user_tasks")
