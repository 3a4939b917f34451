"""Running a process's scenarios (processes/scenarios/*.yaml) from the modeler.

Scenarios move a simulated clock, which is process-wide, so they run in a separate
`medflow test` process (each on its own temporary database) and never touch the server's time
or data; the page shows the readable report it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from flask import render_template

from webui.auth import roles_required
from webui.display import medflow
from webui.modeler import modeler

TIMEOUT_SECONDS = 300


def scenario_files(process_key: str) -> list[Path]:
    """Scenario files that start an instance of ``process_key``."""
    folder = medflow().settings.path("paths.scenarios", "processes/scenarios")
    found = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            steps = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("steps") or []
        except (OSError, yaml.YAMLError):
            continue
        starts = [s["start"] for s in steps if isinstance(s, dict) and isinstance(s.get("start"), dict)]
        if any(start.get("process") == process_key for start in starts):
            found.append(path)
    return found


@modeler.get("/processes/<key>/scenarios")
@roles_required("analyst")
def scenarios(key: str):  # type: ignore[no-untyped-def]
    return render_template("modeler/scenarios.html", process_key=key,
                           files=[p.name for p in scenario_files(key)], reports=None, error=None)


@modeler.post("/processes/<key>/scenarios")
@roles_required("analyst")
def run_scenarios(key: str):  # type: ignore[no-untyped-def]
    files = scenario_files(key)
    reports, error = None, None
    if files:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "engine.cli", "test", "--json", *map(str, files)],
                capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=dict(os.environ),
                cwd=str(medflow().settings.root),
            )
            reports = json.loads(done.stdout) if done.stdout.strip().startswith("[") else None
            if reports is None:
                error = "Сценарии не запустились: " + (done.stderr.strip().splitlines() or ["нет вывода"])[-1]
        except subprocess.TimeoutExpired:
            error = f"Сценарии не завершились за {TIMEOUT_SECONDS} с"
    return render_template("modeler/scenarios.html", process_key=key, files=[p.name for p in files],
                           reports=reports, error=error)
