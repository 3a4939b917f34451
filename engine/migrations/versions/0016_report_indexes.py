"""instances by creation and by finishing: the period report reads one month, not every application

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instances_created", "instances", ["created_at", "id"], unique=False)
    op.create_index("ix_instances_completed", "instances", ["completed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_instances_completed", table_name="instances")
    op.drop_index("ix_instances_created", table_name="instances")
