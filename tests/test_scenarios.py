"""Every scenario file in tests/scenarios runs against a fresh SQLite database with the processes
deployed; a failure prints the scenario's own report."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.scenarios.runner import run_scenario
from tests.medflow_harness import deploy_processes, make_medflow

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "processes" / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path, tmp_path: Path) -> None:
    medflow = make_medflow(tmp_path)
    deploy_processes(medflow)
    try:
        report = run_scenario(medflow, path)
    finally:
        medflow.db.dispose()
    assert report.ok, "\n" + report.text()
