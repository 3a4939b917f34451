"""Starting the renewal process for every issued document, so that its reminder fires on time.

A ``renewal`` instance started with ``initiated_by: reminder`` waits on a timer until 30 days
before expiry, then reminds the holder and waits for the application. This job (run by the
worker's tick every ``renewal.scan_seconds``) starts one such instance per valid document that has
none (``renewal_watcher`` is empty); ``renew_certificate`` clears it, so the next period gets its
own reminder.

>>> start_renewal_watchers(medflow)          # doctest: +SKIP
['ПР-2026-000001']
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from handlers.service_models import IssuedCertificate

BATCH = 100


def start_renewal_watchers(medflow: Any, limit: int = BATCH, process_key: str = "renewal") -> list[str]:
    """Start a watcher for up to ``limit`` valid documents that have none, earliest expiry first
    (one indexed query, whatever the number of documents); their business keys. A full batch
    means more may wait: the periodic job then runs again at the worker's next tick."""
    with medflow.db.read_one() as connection:
        pending = connection.scalars(
            select(IssuedCertificate.number)
            .where(IssuedCertificate.status == "valid", IssuedCertificate.renewal_watcher.is_(None))
            # renewal_watcher is NULL in every row here; ordering by it too lets PostgreSQL read
            # the index in order (it does not take IS NULL as fixing the column) instead of
            # sorting every unwatched document.
            .order_by(IssuedCertificate.renewal_watcher, IssuedCertificate.valid_until, IssuedCertificate.number)
            .limit(limit)).all()
    started = []
    for number in pending:
        # A crash between these two transactions starts a second watcher next time; its reminder
        # is harmless (the holder renews once), losing the reminder would not be.
        result = medflow.runtime.start(process_key, {"certificate_number": number, "initiated_by": "reminder"},
                                       actor="renewal-scheduler")
        with medflow.db.write_one() as session:
            session.execute(update(IssuedCertificate).where(IssuedCertificate.number == number)
                            .values(renewal_watcher=result["business_key"]))
        started.append(result["business_key"])
    return started
