"""Assemble the engine from settings: database, clock, calendar, definitions, runtime, queries.

>>> medflow = build(load_settings())          # doctest: +SKIP
>>> medflow.runtime.start("medbook_issuance", {...}, actor="ivanov")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from engine import clock as clock_module
from engine.calendar import ProductionCalendar
from engine.clock import Clock, RealClock, SimulatedClock
from engine.config import Settings
from engine.db import Database, connect, migrate
from engine.definitions import DefinitionStore
from engine.handler_registry import handler_names, load_handler_modules
from engine.instance_store import InstanceStore
from engine.models import ClockState
from engine.periodic import PeriodicJob
from engine.queries import Queries
from engine.reports import Reports
from engine.runtime import Runtime
from engine.script_engine import TimeHelpers
from engine.start_timers import schedule_on_deploy
from engine.substitutions import Substitutions

_log = logging.getLogger(__name__)


@dataclass
class MedFlow:
    settings: Settings
    db: Database
    clock: Clock
    calendar: ProductionCalendar
    definitions: DefinitionStore
    store: InstanceStore
    runtime: Runtime
    queries: Queries
    substitutions: Substitutions
    reports: Reports
    periodic_jobs: list[PeriodicJob] = field(default_factory=list)

    @property
    def worker_id(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def warm_up(self) -> None:
        """Pay before the first request what the first request would pay: the holiday calendars
        (importing them takes ~150 ms) and the diagrams of every deployed process's newest
        version (~50 ms each). A long-running process (gunicorn worker, serve, worker) calls it
        once at start; with 4 cold gunicorn workers, the first 16 requests were the p99."""
        year = self.clock.now().year
        for y in (year, year + 1):
            self.calendar.is_working_day(date(y, 1, 1))
        try:
            with self.db.read() as session:
                for newest in self.definitions.newest(session):
                    self.definitions.parsed(session, newest.bundle_hash)
        except Exception as exc:  # only a head start: the process must come up regardless
            # e.g. a schema not migrated yet (/ready says so) or a bundle that no longer parses (its
            # requests report that themselves).
            _log.warning("warm-up skipped: %s: %s", type(exc).__name__, exc)


def _stored_clock(db: Database) -> SimulatedClock:
    def load() -> datetime | None:
        with db.read() as session:
            row = session.get(ClockState, 1)
            return clock_module_utc(row.now) if row else None

    def save(value: datetime) -> None:
        with db.write() as session:
            row = session.get(ClockState, 1)
            if row is None:
                session.add(ClockState(id=1, now=value))
            else:
                row.now = value

    simulated = SimulatedClock(loader=load, saver=save)
    simulated.sync()
    return simulated


def clock_module_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=clock_module.UTC)


def build(settings: Settings, db: Database | None = None, clock: Clock | None = None,
          run_migrations: bool = True) -> MedFlow:
    """Connect (and migrate) the database and wire every part of the engine."""
    db = db or connect(settings.database_url, int(settings.get("database.pool_size", 10)),
                       float(settings.get("database.lock_timeout_seconds", 10)),
                       float(settings.get("database.idle_in_transaction_timeout_seconds", 300)))
    db.check()
    if run_migrations:
        migrate(db)
    handler_modules = list(settings.get("handlers.modules", ["handlers"]))
    load_handler_modules(handler_modules)
    if clock is None:
        clock = _stored_clock(db) if settings.clock_mode == "simulated" else RealClock()
    clock_module.install_clock(clock)
    calendar = ProductionCalendar(settings.calendar_overrides)
    helpers = TimeHelpers(calendar, settings.timezone)
    definitions = DefinitionStore(db, settings.path("paths.forms", "forms"), handler_names())
    store = InstanceStore(
        db, definitions, helpers,
        retry_delays=[int(d) for d in settings.get("retry.delays", [10, 60, 300])],
        key_prefixes=dict(settings.get("business_keys.prefixes", {}) or {}),
        default_prefix=str(settings.get("business_keys.default_prefix", "ЗВ")),
        cache_size=int(settings.get("engine.workflow_cache", 500)),
        max_result_bytes=int(settings.get("handlers.max_result_kb", 256)) * 1024,
        script_seconds=float(settings.get("engine.script_time_limit_seconds", 5)),
    )
    definitions.deploy_listeners.append(lambda session, definition, bundle: schedule_on_deploy(
        session, definition, bundle, helpers))
    medflow = MedFlow(settings, db, clock, calendar, definitions, store, Runtime(store), Queries(store),
                      Substitutions(db, settings.timezone), Reports(db, calendar))
    # A handler package may need the built engine (its settings, database, status listeners,
    # periodic jobs): it exposes an idempotent setup(medflow).
    for name in handler_modules:
        setup = getattr(importlib.import_module(name), "setup", None)
        if callable(setup):
            setup(medflow)
    return medflow


def current_simulated_time(db: Database) -> datetime | None:
    with db.read() as session:
        value = session.scalar(select(ClockState.now).where(ClockState.id == 1))
    return clock_module_utc(value) if value else None
