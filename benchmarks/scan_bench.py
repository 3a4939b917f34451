"""(e) The renewal scan at 10,000 and 100,000 issued documents: one run of the worker's periodic job
when every document already has its reminder (the steady state, every `renewal.scan_seconds`).

It must not grow with the table: the job finds the documents without a reminder with one indexed
query. Before migration 0009 it loaded every valid document (4.8 s a run at 100,000 on SQLite).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from benchmarks.environment import engine_for
from handlers.renewal_scheduler import start_renewal_watchers
from handlers.service_models import IssuedCertificate

_CHUNK = 5_000


def renewal_scan(url: str, tmp: Path, sizes: tuple[int, ...], runs: int = 7) -> dict[int, float]:
    """Median ms of ``runs`` scans at each size (documents added between sizes)."""
    medflow = engine_for(url, tmp)
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    result, made = {}, 0
    try:
        for size in sizes:
            while made < size:
                rows = [dict(number=f"ЭМК-2026-{i:07d}", kind="medbook", holder_name="Смирнова Анна Андреевна",
                             details={"Категория работ": "Пищевая промышленность"}, valid_from=date(2026, 1, 1),
                             valid_until=date(2027, 1, 1) + timedelta(days=i % 365), status="valid",
                             issued_at=issued, renewal_watcher=f"ПР-2026-{i:07d}")
                        for i in range(made, min(size, made + _CHUNK))]
                with medflow.db.write() as session:
                    session.execute(insert(IssuedCertificate), rows)
                made += len(rows)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                if start_renewal_watchers(medflow):
                    raise RuntimeError("every document has its reminder: the scan must start nothing")
                times.append((time.perf_counter() - started) * 1000)
            result[size] = statistics.median(times)
    finally:
        medflow.db.dispose()
    return result
