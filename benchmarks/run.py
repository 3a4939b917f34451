"""`make bench`: the engine against its ceilings, printed as one table.

(a) completed 6-step instances/s through the engine on SQLite, each step its own transaction;
(b) plain SpiffWorkflow doing the same steps in memory with a JSON save/load per step;
(c) per-step cost at refuse/fix loop iteration 1, 100 and 1,000;
(d) timer lateness when N instances wait and M fall due at once (one worker).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.bootstrap import build
from engine.clock import SimulatedClock
from engine.config import load_settings
from engine.definitions import collect_files
from engine.worker import Worker

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _medflow(tmp: Path, name: str, clock: SimulatedClock):  # type: ignore[no-untyped-def]
    settings = load_settings().with_overrides({
        "database.url": f"sqlite:///{tmp / name}", "clock": "simulated",
        "paths.forms": str(ROOT / "tests" / "forms"),
        "handlers.modules": ["handlers", "tests.engine_test_handlers", "benchmarks.bench_handlers"],
    })
    medflow = build(settings, clock=clock)
    medflow.definitions.deploy(collect_files([HERE / "diagrams", ROOT / "tests" / "diagrams"]))
    return medflow


def engine_throughput(medflow, n: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for _ in range(n):
        # Each answer names the next open task (as a screen flow would use it): no extra query.
        (task,) = medflow.runtime.start("six_steps", {"n": 1})["open_tasks"]
        for _step in range(3):
            after = medflow.runtime.complete(task["id"], {}, user="bench")
            task = after["open_tasks"][0] if after["open_tasks"] else None
    return n / (time.perf_counter() - started)


def spiff_ceiling(n: int) -> float:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(HERE / "diagrams" / "six_steps.bpmn"))
    spec = parser.get_spec("six_steps")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

    class EchoEngine(PythonScriptEngine):
        def call_service(self, task, operation_name, operation_params):  # type: ignore[no-untyped-def]
            return json.dumps({"value": operation_params["value"]["value"]})

    engine = EchoEngine()
    started = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec, script_engine=engine)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        for _step in range(3):
            wf = serializer.deserialize_json(state)
            wf.script_engine = engine
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.run()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
        assert wf.is_completed()
    return n / (time.perf_counter() - started)


def loop_costs(medflow, marks: tuple[int, ...]) -> dict[int, float]:  # type: ignore[no-untyped-def]
    key = medflow.runtime.start("review_loop", {"applicant_name": "bench"})["business_key"]
    costs: dict[int, float] = {}
    for i in range(1, max(marks) + 1):
        (task,) = medflow.queries.tasks(business_key=key)
        t0 = time.perf_counter()
        medflow.runtime.complete(task["id"], {"decision": "fix"}, user="bench")
        medflow.runtime.send_message("resubmit", key, {"round": i}, actor="bench")
        elapsed = time.perf_counter() - t0
        if i in marks:
            costs[i] = elapsed / 2 * 1000
    return costs


def timer_lateness(medflow, clock: SimulatedClock, waiting: int, due: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for i in range(waiting):
        # The first `due` instances wait 1 working day, the rest 30.
        medflow.runtime.start("wait_working_days", {"days": 1 if i < due else 30})
    due_at = datetime.fromisoformat(medflow.store.helpers.working_days(1))
    clock.set(due_at + timedelta(microseconds=1))
    worker = Worker(medflow, "bench")
    # The simulated clock runs with wall time during firing so lateness is real.
    base_wall = time.perf_counter()

    class Running(SimulatedClock):
        def now(self) -> datetime:  # type: ignore[override]
            return due_at + timedelta(seconds=time.perf_counter() - base_wall)

    from engine import clock as clock_module
    clock_module.install_clock(Running(due_at))
    result = worker.tick()
    clock_module.install_clock(clock)
    from sqlalchemy import select

    from engine.models import Job
    with medflow.db.read() as session:
        lateness = [j.lateness_ms for j in session.scalars(select(Job).where(Job.status == "done"))]
    lateness.sort()
    return {"fired": result.fired, "p50_ms": statistics.median(lateness),
            "p99_ms": lateness[int(len(lateness) * 0.99) - 1], "early": sum(1 for v in lateness if v < 0)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller numbers, for a smoke run")
    args = parser.parse_args()
    n, waiting, due = (50, 1000, 100) if args.quick else (300, 10_000, 1_000)
    clock = SimulatedClock(datetime(2026, 4, 30, 9, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        medflow = _medflow(tmpdir, "a.db", clock)
        engine_rate = engine_throughput(medflow, n)
        ceiling = spiff_ceiling(n)
        costs = loop_costs(_medflow(tmpdir, "c.db", clock), (1, 100, 1000))
        timers = timer_lateness(_medflow(tmpdir, "d.db", clock), clock, waiting, due)
    rows = [
        ("(a) engine, 6-step instances/s, SQLite", f"{engine_rate:.1f}", f"≥ 0.6 × (b) = {0.6 * ceiling:.1f}",
         engine_rate >= 0.6 * ceiling),
        ("(b) plain SpiffWorkflow + JSON per step", f"{ceiling:.1f}", "ceiling", True),
        ("(c) step cost, loop iteration 1 (ms)", f"{costs[1]:.2f}", "", True),
        ("(c) step cost, loop iteration 100 (ms)", f"{costs[100]:.2f}", "", True),
        ("(c) step cost, loop iteration 1000 (ms)", f"{costs[1000]:.2f}", f"≤ 2 × it.1 = {2 * costs[1]:.2f}",
         costs[1000] <= 2 * costs[1]),
        (f"(d) timer lateness p50, {due} of {waiting} due (ms)", f"{timers['p50_ms']:.0f}", "", True),
        (f"(d) timer lateness p99 (ms), early={timers['early']}", f"{timers['p99_ms']:.0f}", "≤ 2000, none early",
         timers["p99_ms"] <= 2000 and timers["early"] == 0),
    ]
    print(f"MedFlow benchmarks — {datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:>10}  {target:<28} {'ok' if ok else 'MISSED'}")
    out = HERE / "results" / "latest.json"
    out.write_text(json.dumps({"rows": [dict(zip(("name", "value", "target", "ok"), r, strict=True)) for r in rows]},
                              ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
