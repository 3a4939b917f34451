"""issued_certificates.renewal_watcher: the renewal scheduler found the documents without a
watcher by loading every valid one and reading its JSON details (seconds and tens of MB an hour
at 100,000); now one indexed query

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_KEY = "renewal_instance"  # where the watcher's business key was kept, in details
_BATCH = 1000


def _certificates() -> sa.Table:
    return sa.table("issued_certificates", sa.column("number", sa.String), sa.column("details", sa.JSON),
                    sa.column("renewal_watcher", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("issued_certificates") as batch:
        batch.add_column(sa.Column("renewal_watcher", sa.String(length=100), nullable=True))
        batch.create_index("ix_issued_certificates_unwatched", ["status", "renewal_watcher", "valid_until"])
    table, connection, after = _certificates(), op.get_bind(), ""
    while True:  # keyset batches: the whole table is never in memory
        rows = connection.execute(sa.select(table.c.number, table.c.details).where(table.c.number > after)
                                  .order_by(table.c.number).limit(_BATCH)).all()
        if not rows:
            break
        for number, details in rows:
            if isinstance(details, dict) and _KEY in details:
                rest = {k: v for k, v in details.items() if k != _KEY}
                connection.execute(sa.update(table).where(table.c.number == number)
                                   .values(renewal_watcher=details[_KEY], details=rest))
        after = rows[-1].number


def downgrade() -> None:
    table, connection = _certificates(), op.get_bind()
    watched = connection.execute(sa.select(table.c.number, table.c.details, table.c.renewal_watcher)
                                 .where(table.c.renewal_watcher.is_not(None))).all()
    for number, details, watcher in watched:
        connection.execute(sa.update(table).where(table.c.number == number)
                           .values(details={**(details or {}), _KEY: watcher}))
    with op.batch_alter_table("issued_certificates") as batch:
        batch.drop_index("ix_issued_certificates_unwatched")
        batch.drop_column("renewal_watcher")
