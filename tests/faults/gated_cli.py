"""`python -m tests.faults.gated_cli GATE ARGS...` runs `medflow ARGS` once the file GATE exists.

Everything slow (imports, the handler packages) happens before the gate; the process then says it
is ready (``GATE.ready.<pid>``) and waits, so several processes start their work together.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import handlers  # noqa: F401  (imported before the gate: registering handlers is the slow part)
import tests.engine_test_handlers  # noqa: F401
from engine.cli.main import main

TIMEOUT = 60.0


def run() -> None:
    gate = Path(sys.argv[1])
    gate.with_name(f"{gate.name}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + TIMEOUT
    while not gate.exists():
        if time.monotonic() > deadline:
            sys.exit("the gate was never opened")
        time.sleep(0.002)
    sys.argv = ["medflow", *sys.argv[2:]]
    main()


if __name__ == "__main__":
    run()
