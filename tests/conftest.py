"""Shared fixtures: an engine on a fresh database — SQLite always, PostgreSQL when
MEDFLOW_TEST_POSTGRES_URL is set (`make test` sets it; in CI the PostgreSQL tests must run)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.bootstrap import MedFlow, build
from engine.clock import RealClock, SimulatedClock, install_clock
from engine.config import load_settings
from engine.definitions import collect_files

TESTS = Path(__file__).resolve().parent
DIAGRAMS = TESTS / "diagrams"
POSTGRES_URL = os.environ.get("MEDFLOW_TEST_POSTGRES_URL")
START = datetime(2026, 4, 30, 9, 0, tzinfo=UTC)  # Thursday before the May holidays


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("MEDFLOW_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
        pytest.skip("MEDFLOW_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


def _fresh_postgres(server_url: str) -> tuple[str, callable]:
    name = f"medflow_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'medflow.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    url, drop = _fresh_postgres(server)
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sim_clock() -> SimulatedClock:
    return SimulatedClock(START)


def make_medflow(url: str, clock, **overrides) -> MedFlow:  # type: ignore[no-untyped-def]
    settings = load_settings().with_overrides({
        "database.url": url, "clock": "simulated", "paths.forms": str(TESTS / "forms"),
        "handlers.modules": ["handlers", "tests.engine_test_handlers"], "retry.delays": [10, 60],
        **overrides,
    })
    return build(settings, clock=clock)


@pytest.fixture
def medflow(database_url: str, sim_clock: SimulatedClock) -> Iterator[MedFlow]:
    mf = make_medflow(database_url, sim_clock)
    mf.definitions.deploy(collect_files([DIAGRAMS]))
    try:
        yield mf
    finally:
        mf.db.dispose()
        install_clock(RealClock())
