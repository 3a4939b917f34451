"""A time limit for a diagram's scripts and expressions.

A ``while`` loop whose condition never turns false held the instance's row lock and its process
forever: the web request never answered, a worker never came back to its other jobs, and every
later command on that application waited behind it. Python cannot stop a thread from outside, so
the limit is checked from inside: while diagram code runs, a trace function sees each line of it
(only the diagram's own lines — compiled as ``<string>`` — not our helpers or the libraries) and
raises once the time is up. The step then fails like any failing script: an incident, and the
transaction rolls back. A loop inside one C call (``sum(range(10**12))``) does not come back to
the tracer; the namespace's builtins keep such calls few.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

DIAGRAM_CODE = "<string>"  # the file name engine.script_engine compiles diagram code under
LINES_PER_CHECK = 1000  # reading the clock on every line would double a tight loop's cost

T = TypeVar("T")


class ScriptTimeout(BaseException):
    """Diagram code ran longer than its limit; the message is for the incident list, in Russian.

    A BaseException so that the script's own ``except Exception`` cannot swallow it (CPython
    turns tracing off once a trace function raises, so a swallowed stop would never come again);
    bare ``except:`` is refused by :mod:`engine.expression_guard`."""


def run_limited(seconds: float, run: Callable[[], T]) -> T:
    """``run()`` with the diagram code it executes stopped after ``seconds`` (0: no limit)."""
    if seconds <= 0:
        return run()
    deadline = time.monotonic() + seconds
    lines = 0

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines % LINES_PER_CHECK == 0 and time.monotonic() > deadline:
                raise ScriptTimeout(f"выполнялся дольше {seconds:g} с и остановлен: проверьте условие цикла")
        return on_line

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        return on_line if frame.f_code.co_filename == DIAGRAM_CODE else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        return run()
    finally:
        sys.settrace(previous)
