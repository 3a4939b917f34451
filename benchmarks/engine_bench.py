"""In-process engine figures: throughput against plain SpiffWorkflow, loop step cost, timer lateness.

(a)/(b) six-step instances through the engine vs. plain SpiffWorkflow with a JSON save/load per step;
(1) the medical-book happy path (start → submit → review → issued, each step committed) on SQLite
and PostgreSQL — with the real handlers, and with their results replayed so that the figure is the
engine's own cost, comparable with plain SpiffWorkflow running the same diagram with the same
replayed results; (c) step cost at loop iteration 1 / 100 / 1,000; (d) timer lateness with one
in-process worker on SQLite.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import random
import statistics
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from benchmarks.environment import HERE, ROOT, engine_for, medbook_form, register_people, upload_documents
from engine import clock as clock_module
from engine import handler_registry
from engine.bootstrap import MedFlow
from engine.bulk_data import Cloner
from engine.clock import SimulatedClock
from engine.models import Job
from engine.script_engine import TimeHelpers
from engine.worker import Worker

# --- six steps (issue 2) -----------------------------------------------------------------------


def six_step_rate(medflow: MedFlow, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        # Each answer names the next open task (as a screen flow would use it): no extra query.
        (task,) = medflow.runtime.start("six_steps", {"n": 1})["open_tasks"]
        for _step in range(3):
            after = medflow.runtime.complete(task["id"], {}, user="bench")
            task = after["open_tasks"][0] if after["open_tasks"] else None
    return n / (time.perf_counter() - started)


def _serializer() -> BpmnWorkflowSerializer:
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def six_step_ceiling(n: int) -> float:
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(HERE / "diagrams" / "six_steps.bpmn"))
    spec = parser.get_spec("six_steps")
    serializer = _serializer()

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
            wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
        assert wf.is_completed()
    return n / (time.perf_counter() - started)


# --- medical book happy path -------------------------------------------------------------------


class Tape:
    """Handler results recorded from one real application, replayed in the same order."""

    def __init__(self) -> None:
        self.results: dict[str, list[Any]] = defaultdict(list)
        self._cursor: dict[str, int] = defaultdict(int)
        self._saved: dict[str, Any] = {}

    def rewind(self) -> None:
        self._cursor.clear()

    def next(self, name: str) -> Any:
        index = self._cursor[name]
        self._cursor[name] += 1
        return copy.deepcopy(self.results[name][index])

    def _swap(self, make: Any) -> None:
        for name, spec in list(handler_registry._REGISTRY.items()):
            self._saved.setdefault(name, spec)
            handler_registry._REGISTRY[name] = make(name, self._saved[name])

    def record(self) -> None:
        def recording(name: str, spec: Any) -> Any:
            def call(**kwargs: Any) -> Any:
                result = spec.func(**kwargs)
                self.results[name].append(json.loads(json.dumps(result, default=str)))
                return result
            return replace(spec, func=call)
        self._swap(recording)

    def replay(self) -> None:
        self._swap(lambda name, spec: replace(spec, func=lambda **_kw: self.next(name), wants_context=False))

    def restore(self) -> None:
        handler_registry._REGISTRY.update(self._saved)
        self._saved.clear()


def _application(medflow: MedFlow, form: dict[str, Any]) -> None:
    (task,) = medflow.runtime.start("medbook_issuance", {}, actor="bench")["open_tasks"]
    after = medflow.runtime.complete(task["id"], form, user="bench")
    review = next(t for t in after["open_tasks"] if t["element_id"] == "review")
    done = medflow.runtime.complete(review["id"], {"decision": "approve"}, user="operator1")
    if done["status"] != "completed":
        raise RuntimeError(f"medbook happy path ended in {done['status']} / {done['portal_status']}")


def medbook_rates(url: str, tmp: Path, n: int, tape: Tape) -> dict[str, float]:
    """Applications/s with the real handlers, and with their results replayed from ``tape`` (the
    engine's own cost). The tape is recorded here from one extra real application."""
    medflow = engine_for(url, tmp)
    try:
        people = register_people(medflow, 2 * n + 2, seed=5)
        documents = upload_documents(medflow)
        forms = iter([medbook_form(p, documents) for p in people])
        _application(medflow, next(forms))  # warm caches: parsed specs, forms, handler imports
        tape.results.clear()
        tape.record()
        try:
            _application(medflow, next(forms))
        finally:
            tape.restore()
        started = time.perf_counter()
        for _ in range(n):
            _application(medflow, next(forms))
        real = n / (time.perf_counter() - started)
        listeners, medflow.store.status_listeners = medflow.store.status_listeners, []  # notices are handlers' work
        tape.replay()
        try:
            started = time.perf_counter()
            for _ in range(n):
                tape.rewind()
                _application(medflow, next(forms))
            engine_only = n / (time.perf_counter() - started)
        finally:
            tape.restore()
            medflow.store.status_listeners = listeners
        return {"real": real, "engine": engine_only}
    finally:
        medflow.db.dispose()


def _drive(url: str, tmp: str, people: list[dict[str, Any]], n: int, barrier: Any, results: Any) -> None:
    """One process of :func:`medbook_parallel_rate`: its own engine, as a web or worker process has."""
    medflow = engine_for(url, Path(tmp))
    try:
        documents = upload_documents(medflow)
        forms = iter([medbook_form(p, documents) for p in people])
        _application(medflow, next(forms))  # warm caches, as medbook_rates does
        barrier.wait()
        started = time.perf_counter()
        for _ in range(n):
            _application(medflow, next(forms))
        results.put((started, time.perf_counter()))
    finally:
        medflow.db.dispose()


def medbook_parallel_rate(url: str, tmp: Path, n: int, processes: int) -> float:
    """Applications/s with the real handlers from ``processes`` processes on one database, ``n``
    each, from their common start to the last one's end. Spawned, not forked: a child must not
    share the parent's pooled connections."""
    helper = engine_for(url, tmp)
    people = register_people(helper, processes * (n + 1), seed=11)
    helper.db.dispose()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    children = [context.Process(target=_drive, args=(url, str(tmp), people[i * (n + 1):(i + 1) * (n + 1)], n,
                                                     barrier, results)) for i in range(processes)]
    for child in children:
        child.start()
    spans = [results.get(timeout=600) for _ in children]
    for child in children:
        child.join()
    return processes * n / (max(end for _, end in spans) - min(start for start, _ in spans))


def medbook_ceiling(tape: Tape, n: int, helpers: TimeHelpers, form: dict[str, Any]) -> float:
    """Plain SpiffWorkflow: the same diagrams and replayed handler results, a JSON save/load per step."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(p) for p in sorted((ROOT / "processes").glob("*.bpmn"))])
    parser.add_dmn_files([str(p) for p in sorted((ROOT / "processes").glob("*.dmn"))])
    spec = parser.get_spec("medbook_issuance")
    subprocesses = parser.get_subprocess_specs("medbook_issuance")
    serializer = _serializer()

    class ReplayEngine(PythonScriptEngine):
        def call_service(self, task, operation_name, operation_params):  # type: ignore[no-untyped-def]
            return json.dumps(tape.next(operation_name), ensure_ascii=False)

    engine = ReplayEngine(environment=TaskDataEnvironment(helpers.namespace()))

    def step(state: str, data: dict[str, Any]) -> tuple[str, BpmnWorkflow]:
        wf = serializer.deserialize_json(state)
        wf.script_engine = engine
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(**copy.deepcopy(data))
        task.run()
        wf.do_engine_steps()
        return serializer.serialize_json(wf), wf

    started = time.perf_counter()
    for _ in range(n):
        tape.rewind()
        wf = BpmnWorkflow(spec, subprocesses, script_engine=engine)
        wf.do_engine_steps()
        state, wf = step(serializer.serialize_json(wf), form)
        state, wf = step(state, {"decision": "approve"})
        if not wf.is_completed():
            raise RuntimeError("plain SpiffWorkflow did not complete the medbook happy path")
    return n / (time.perf_counter() - started)


# --- loop and timers ---------------------------------------------------------------------------


def loop_costs(medflow: MedFlow, marks: tuple[int, ...]) -> dict[int, float]:
    key = medflow.runtime.start("review_loop", {"applicant_name": "bench"})["business_key"]
    costs: dict[int, float] = {}
    for i in range(1, max(marks) + 1):
        (task,) = medflow.queries.tasks(business_key=key)
        t0 = time.perf_counter()
        medflow.runtime.complete(task["id"], {"decision": "fix"}, user="bench")
        medflow.runtime.send_message("resubmit", key, {"round": i}, actor="bench")
        if i in marks:
            costs[i] = (time.perf_counter() - t0) / 2 * 1000
    return costs


def sqlite_timer_lateness(medflow: MedFlow, clock: SimulatedClock, waiting: int, due: int) -> dict[str, float]:
    """``waiting`` instances wait, ``due`` of them fall due together; one worker, in process."""
    soon = medflow.runtime.start("wait_working_days", {"days": 1})["id"]
    later = medflow.runtime.start("wait_working_days", {"days": 30})["id"]
    cloner, rng = Cloner(medflow.db, clock.now()), random.Random(4)
    cloner.clone(soon, due - 1, rng, spread=(0, 0))
    cloner.clone(later, waiting - due - 1, rng, spread=(0, 0))
    due_at = datetime.fromisoformat(medflow.store.helpers.working_days(1))
    clock.set(due_at + timedelta(microseconds=1))
    base_wall = time.perf_counter()

    class Running(SimulatedClock):
        """Simulated time that runs with the wall clock while the worker fires, so lateness is real."""

        def now(self) -> datetime:  # type: ignore[override]
            return due_at + timedelta(seconds=time.perf_counter() - base_wall)

    clock_module.install_clock(Running(due_at))
    try:
        result = Worker(medflow, "bench").tick()
    finally:
        clock_module.install_clock(clock)
    with medflow.db.read() as session:
        lateness = sorted(v for v in session.scalars(select(Job.lateness_ms).where(Job.status == "done")))
    return {"fired": result.fired, "p50_ms": statistics.median(lateness), "early": sum(1 for v in lateness if v < 0),
            "p99_ms": lateness[max(0, int(len(lateness) * 0.99) - 1)]}
