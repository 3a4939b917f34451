"""accounts.role indexed: a task page lists the staff of its group, and with every applicant's
account in the same table it read all of them (100,000: 3 s a page)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_accounts_role", "accounts", ["role"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_accounts_role", table_name="accounts")
