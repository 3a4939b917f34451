"""Worklist indexes cover the whole sort order (due, created, id): each group's first page is an
index range scan that stops after the page, however many tasks are open.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_user_tasks_queue", table_name="user_tasks")
    op.create_index("ix_user_tasks_queue", "user_tasks", ["status", "candidate_group", "due_at", "created_at", "id"])
    op.drop_index("ix_user_tasks_assignee", table_name="user_tasks")
    op.create_index("ix_user_tasks_assignee", "user_tasks", ["assignee", "status", "due_at", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_tasks_assignee", table_name="user_tasks")
    op.create_index("ix_user_tasks_assignee", "user_tasks", ["assignee", "status", "due_at"])
    op.drop_index("ix_user_tasks_queue", table_name="user_tasks")
    op.create_index("ix_user_tasks_queue", "user_tasks", ["status", "candidate_group", "due_at"])
