"""Running the real `medflow` CLI as separate OS processes against a test database.

Configuration goes through MEDFLOW_* variables only, as an operator would run it. A process may be
started behind a gate (see :mod:`tests.faults.gated_cli`): it imports and connects first, then
waits, so that several processes begin their work at the same moment without any sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.bootstrap import MedFlow, build
from engine.config import load_settings
from engine.definitions import collect_files
from tests.conftest import DIAGRAMS, TESTS

PROJECT = TESTS.parent
GATE_TIMEOUT = 60.0


def cli_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a CLI process: simulated clock stored in the database, the test diagrams' handlers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDFLOW_")}
    env.update({
        "MEDFLOW_DATABASE_URL": database_url,
        "MEDFLOW_CLOCK": "simulated",
        "MEDFLOW_PATHS_FORMS": str(TESTS / "forms"),
        "MEDFLOW_HANDLERS_MODULES": "[handlers, tests.engine_test_handlers]",
        "MEDFLOW_WORKER_POLL_SECONDS": "0.2",
        "MEDFLOW_WORKER_LEASE_SECONDS": "2",
        "MEDFLOW_WORKER_BATCH_SIZE": "10",
        "PYTHONPATH": str(PROJECT),
    })
    env.update({f"MEDFLOW_{name.upper()}": value for name, value in settings.items()})
    return env


def stored_clock_medflow(database_url: str) -> MedFlow:
    """An engine in this process whose simulated clock lives in the database, like the CLI's.

    Building installs the clock globally: the caller restores it (install_clock(RealClock())).
    """
    settings = load_settings(environ=cli_env(database_url))
    medflow = build(settings)
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    return medflow


def spawn(args: list[str], env: dict[str, str], gate: Path | None = None, log: Path | None = None) -> subprocess.Popen:
    """`python -m engine.cli ARGS` (or through the gate); output to ``log`` or a pipe."""
    command = [sys.executable, "-m", "engine.cli", *args]
    if gate is not None:
        command = [sys.executable, "-m", "tests.faults.gated_cli", str(gate), *args]
    out = open(log, "ab") if log else subprocess.PIPE  # noqa: SIM115  (the child owns the handle)
    try:
        # A new session: a SIGKILL to the worker must not hit pytest, and pytest's Ctrl-C not the child.
        return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        if log:
            out.close()


def open_gate(gate: Path, processes: list[subprocess.Popen]) -> None:
    """Wait until every gated process is ready, then let them all go at once."""
    deadline = time.monotonic() + GATE_TIMEOUT
    while len(list(gate.parent.glob(gate.name + ".ready.*"))) < len(processes):
        for process in processes:
            if process.poll() is not None:
                out = process.stdout.read().decode(errors="replace") if process.stdout else ""
                raise AssertionError(f"a gated process exited early ({process.returncode}): {out}")
        if time.monotonic() > deadline:
            raise AssertionError("gated processes never became ready")
        time.sleep(0.01)  # polling files the children create, not timing the race
    gate.touch()


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL: no handler, no rollback in the process, no chance to release anything."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_hard(process)
