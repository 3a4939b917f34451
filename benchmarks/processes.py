"""The product's own processes under test: `medflow serve`, gunicorn, `medflow worker`,
`medflow demo generate` — started as a person would, on a free port, and measured from /proc.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.environment import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) in MiB; 0 when it is gone."""
    return _status_mb(pid, "VmHWM")


def current_rss_mb(pid: int) -> float:
    """The process's resident set now (VmRSS) in MiB; 0 when it is gone."""
    return _status_mb(pid, "VmRSS")


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(x) for x in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


class Process:
    """A child process in its own session, so stopping it also stops what it started."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115  (closed in stop())
        self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._out.close()


class Server(Process):
    """`medflow serve` (one process with threads and the timer worker) or gunicorn workers."""

    def __init__(self, env: dict[str, str], log: Path, gunicorn_workers: int = 0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if gunicorn_workers:
            # The production settings (webui/gunicorn_conf.py, access log included), on a free port.
            args = [sys.executable, "-m", "gunicorn", "-c", "python:webui.gunicorn_conf",
                    "--workers", str(gunicorn_workers), "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
                    "webui.wsgi:app"]
        else:
            args = [sys.executable, "-m", "engine.cli", "serve", "--port", str(self.port)]
        super().__init__(args, env, log)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"server exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout:.0f}s:\n{self.tail()}")

    def peak_rss_mb(self) -> float:
        """The largest process serving requests (the gunicorn master only forks and watches)."""
        return max([peak_rss_mb(pid) for pid in [self.pid, *children(self.pid)]] or [0.0])


def run_medflow(args: list[str], env: dict[str, str], timeout: float = 1800) -> Any:
    """Run a `medflow ... --json` command; its JSON answer."""
    done = subprocess.run([sys.executable, "-m", "engine.cli", *args, "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"medflow {' '.join(args)} failed ({done.returncode}): {done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")
    return json.loads(done.stdout)
