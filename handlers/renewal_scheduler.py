"""Starting the renewal process for every issued document, so that its reminder fires on time.

A ``renewal`` instance started with ``initiated_by: reminder`` waits on a timer until 30 days
before expiry, then reminds the holder and waits for the application. This job (run daily by the
worker or `medflow`, see the report) starts one such instance per valid document that has none;
``renew_certificate`` clears the mark, so the next period gets its own reminder.

>>> start_renewal_watchers(medflow)          # doctest: +SKIP
['ПР-2026-000001']
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from handlers.service_models import IssuedCertificate

WATCH_KEY = "renewal_instance"


def start_renewal_watchers(medflow: Any, limit: int = 100, process_key: str = "renewal") -> list[str]:
    with medflow.db.read() as session:
        rows = session.scalars(select(IssuedCertificate).where(IssuedCertificate.status == "valid")
                               .order_by(IssuedCertificate.valid_until))
        pending = [row.number for row in rows if not (row.details or {}).get(WATCH_KEY)][:limit]
    started = []
    for number in pending:
        # A crash between these two transactions starts a second watcher next time; its reminder
        # is harmless (the holder renews once), losing the reminder would not be.
        result = medflow.runtime.start(process_key, {"certificate_number": number, "initiated_by": "reminder"},
                                       actor="renewal-scheduler")
        with medflow.db.write() as session:
            row = session.get(IssuedCertificate, number)
            row.details = {**(row.details or {}), WATCH_KEY: result["business_key"]}
        started.append(result["business_key"])
    return started
