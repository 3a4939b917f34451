"""Connecting the handlers to an engine: environment, step session, status notices, tables.

>>> medflow = build(settings)       # doctest: +SKIP
>>> handlers.setup(medflow)         # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from engine.db import Database
from handlers.demo_registry_data import seed_demo_registries
from handlers.notifications import status_listener
from handlers.registry_models import REGISTRY_TABLES
from handlers.service_models import SERVICE_TABLES
from handlers.services import HandlerEnvironment, install
from handlers.staff_notices import substitution_listener

HANDLER_TABLES = [*REGISTRY_TABLES, *SERVICE_TABLES]


def create_handler_tables(db: Database) -> None:
    """Create the handlers' tables if missing: for tests and demos until the Alembic migration exists."""
    from engine.models import Base

    Base.metadata.create_all(db.write_engine, tables=HANDLER_TABLES)


def setup(medflow: Any, create_tables: bool = False, seed_demo: bool = False) -> HandlerEnvironment:
    """Idempotent: a second call changes nothing."""
    if create_tables:
        create_handler_tables(medflow.db)
    env = install(medflow)
    listeners = medflow.store.status_listeners
    if not any(getattr(listener, "_medflow_notices", False) for listener in listeners):
        listener = status_listener(medflow.settings.get("notifications.templates"))
        listener._medflow_notices = True
        listeners.append(listener)
    substitutions = getattr(medflow, "substitutions", None)
    if substitutions is not None and not any(getattr(x, "_medflow_notices", False) for x in substitutions.listeners):
        notice = substitution_listener(medflow.settings.get("notifications.templates"))
        notice._medflow_notices = True
        substitutions.listeners.append(notice)
    _register_periodic_jobs(medflow)
    if seed_demo:
        with medflow.db.write() as session:
            seed_demo_registries(session)
    return env


def _register_periodic_jobs(medflow: Any) -> None:
    """Outbox delivery and renewal reminders run in the worker's tick (once per engine)."""
    from engine.periodic import PeriodicJob
    from handlers.notification_delivery import NotificationDispatcher
    from handlers.renewal_scheduler import BATCH, start_renewal_watchers

    jobs = getattr(medflow, "periodic_jobs", None)
    if jobs is None or any(job.name == "notifications" for job in jobs):
        return
    dispatcher = NotificationDispatcher(medflow.db, medflow.settings)
    interval = float(medflow.settings.get("notifications.dispatch_seconds", 5))
    jobs.append(PeriodicJob("notifications", interval, dispatcher.dispatch))
    renewal_interval = float(medflow.settings.get("renewal.scan_seconds", 3600))
    jobs.append(PeriodicJob("renewal_reminders", renewal_interval, lambda: start_renewal_watchers(medflow),
                            more=lambda started: len(started) >= BATCH))


def seed_demo(medflow: Any) -> None:
    """Demo records for the local registry adapters; idempotent."""
    with medflow.db.write() as session:
        seed_demo_registries(session)
