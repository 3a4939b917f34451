"""A long-running process warms up before its first request: the newest diagrams of every deployed
process are parsed and the holiday calendar is loaded, so the first application is not the slow one."""

from __future__ import annotations

import logging
from datetime import date

import holidays

from engine import definitions as definitions_module
from engine.bootstrap import build
from engine.clock import SimulatedClock
from tests.medflow_harness import DEFAULT_START, deploy_processes, make_medflow


def test_after_warm_up_the_first_application_parses_nothing_and_loads_no_calendar(tmp_path, monkeypatch):
    deployed = make_medflow(tmp_path)
    deploy_processes(deployed)
    deployed.db.dispose()
    fresh = make_medflow(tmp_path)  # a new process on the same database: nothing cached yet
    fresh.warm_up()
    parses: list[int] = []
    calendars: list[int] = []
    real_parse, real_holidays = definitions_module.parse_bundle, holidays.country_holidays
    monkeypatch.setattr(definitions_module, "parse_bundle", lambda files: parses.append(1) or real_parse(files))
    monkeypatch.setattr(holidays, "country_holidays", lambda *a, **k: calendars.append(1) or real_holidays(*a, **k))
    started = fresh.runtime.start("medbook_issuance", {}, actor="ivanova")
    assert started["open_tasks"] and parses == []
    assert fresh.calendar.is_working_day(date(fresh.clock.now().year, 5, 12)) and calendars == []


def test_warm_up_on_a_database_without_the_schema_only_logs(tmp_path, caplog):
    medflow = make_medflow(tmp_path)
    unmigrated = build(medflow.settings.with_overrides({"database.url": f"sqlite:///{tmp_path / 'empty.db'}"}),
                       clock=SimulatedClock(DEFAULT_START), run_migrations=False)
    with caplog.at_level(logging.WARNING, logger="engine.bootstrap"):
        unmigrated.warm_up()
    assert "warm-up skipped" in caplog.text
