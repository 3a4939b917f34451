"""Indexes for the lists that grow: one application's tasks by its number (the application page
read every completed task), and the lists of applications newest first (sorted every match)

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# name: (old columns, new columns); the new ones end in id for ORDER BY id DESC LIMIT n
_INSTANCES = {
    "ix_instances_process_status": (["process_key", "status"], ["process_key", "status", "id"]),
    "ix_instances_status": (["status"], ["status", "id"]),
    "ix_instances_started_by": (["started_by"], ["started_by", "id"]),
}


def upgrade() -> None:
    for name, (_old, new) in _INSTANCES.items():
        op.drop_index(name, table_name="instances")
        op.create_index(name, "instances", new)
    op.create_index("ix_instances_process", "instances", ["process_key", "id"])
    op.create_index("ix_user_tasks_business_key", "user_tasks", ["business_key", "status", "due_at", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_user_tasks_business_key", table_name="user_tasks")
    op.drop_index("ix_instances_process", table_name="instances")
    for name, (old, _new) in _INSTANCES.items():
        op.drop_index(name, table_name="instances")
        op.create_index(name, "instances", old)
