"""An index for a supervisor's list of every task in deadline order: it sorted every completed
task ever to show a page

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_user_tasks_due", "user_tasks", ["status", "due_at", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_tasks_due", table_name="user_tasks")
