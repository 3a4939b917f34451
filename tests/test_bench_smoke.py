"""`make bench` at smoke sizes (BENCH_QUICK=1): one table and latest.json with every figure.

The figures are not checked against their targets here (smoke sizes say nothing about speed);
this proves the benchmark suite still runs end to end — generator, gunicorn, workers and all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.run import KEYS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_quick_bench_prints_the_table_and_writes_every_figure(postgres_server_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_RESULTS_DIR": str(tmp_path), "BENCH_POSTGRES_URL": postgres_server_url}
    done = subprocess.run([sys.executable, "-m", "benchmarks.run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    data = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert data["quick"] is True and data["errors"] == {}
    missing = [key for key in KEYS if data["figures"].get(key, {}).get("value") is None]
    assert not missing, missing
    lines = done.stdout.splitlines()
    assert lines[0].startswith("MedFlow benchmarks") and "QUICK" in lines[0]
    for key in KEYS:
        label = data["figures"][key]["label"]
        assert any(line.startswith(label) for line in lines), f"{label!r} not in the table"
