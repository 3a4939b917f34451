"""Hostile service handlers: they raise, time out, hang past the lease, or return garbage.

Each failure is retried with back-off, then becomes an incident; the instance stays intact (its
state never holds the garbage) and continues after `runtime.retry_incident` once the handler
behaves. The handlers are registered by this module for its own tests and removed afterwards.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from engine import handler_registry
from engine.definitions import collect_files
from engine.handler_registry import CallContext
from engine.worker import Worker
from tests import bpmn_samples as b
from tests.faults.facts import actions
from tests.faults.interleave import TIMEOUT, Actor, StatementWatch, wait_until_blocked

HANDLER = "fault_hostile"
PROCESS = "fault_hostile_call"
BEHAVIOUR: dict[str, str] = {}
CALLS: Counter[str] = Counter()
GATE = threading.Event()  # the "hang" mode waits on it
INSIDE = threading.Event()  # set when a hanging call has started
TEN_MB = 10 * 1024 * 1024


class Circular(dict):
    pass


def _garbage(mode: str) -> Any:
    if mode == "object":
        return {"value": object()}
    if mode == "set":
        return {"ids": {1, 2, 3}}
    if mode == "huge":
        return {"text": "я" * (TEN_MB // 2)}  # 10 MB of UTF-8
    if mode == "circular":
        loop: dict[str, Any] = {}
        loop["self"] = loop
        return loop
    raise AssertionError(mode)


def hostile(key: str, ctx: CallContext) -> Any:
    CALLS[key] += 1
    mode = BEHAVIOUR.get(key, "ok")
    if mode == "raise":
        raise RuntimeError("реестр ответил ошибкой 500: " + "x" * 100_000)  # a long, ugly message
    if mode == "timeout":
        raise TimeoutError("реестр не ответил за 30 с")
    if mode == "hang":
        INSIDE.set()
        if not GATE.wait(TIMEOUT):
            raise TimeoutError("test gate never opened")
        return {"ok": True, "attempt": ctx.attempt}
    if mode == "ok":
        return {"ok": True, "attempt": ctx.attempt}
    return _garbage(mode)


@pytest.fixture(scope="module", autouse=True)
def hostile_handler() -> Iterator[None]:
    # Module scope: registered before the engine is built, so lint at deploy knows the name.
    handler_registry.handler(HANDLER, params={"type": "object", "required": ["key"]})(hostile)
    try:
        yield
    finally:
        handler_registry.unregister(HANDLER)


@pytest.fixture(autouse=True)
def open_gate() -> Iterator[None]:
    yield
    GATE.set()  # a failed test must not leave a worker thread hanging in the handler


@pytest.fixture
def deployed(medflow):
    xml = b.bpmn(b.process(PROCESS, b.service_task("call", HANDLER, {"key": "key"}, result="answer")))
    medflow.definitions.deploy({**collect_files([]), "fault_hostile.bpmn": xml.encode()})
    return medflow


def _start(medflow, key: str, mode: str) -> dict:
    BEHAVIOUR[key] = mode
    CALLS[key] = 0
    return medflow.runtime.start(PROCESS, {"key": key})


@pytest.mark.parametrize("mode", ["raise", "timeout", "object", "set", "circular", "huge"])
def test_failing_handler_retries_then_incident_then_continues(deployed, sim_clock, mode, request):
    medflow = deployed
    key = f"{mode}-{request.node.callspec.id}"
    started = _start(medflow, key, mode)
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "running" and [j["kind"] for j in inst["jobs"]] == ["retry"], inst["status"]
    worker = Worker(medflow, "w1")
    for delay in (11, 61):  # the test settings' retry delays are 10 s and 60 s
        sim_clock.advance(timedelta(seconds=delay))
        assert worker.tick().fired == 1
    inst = medflow.queries.instance(started["id"])
    assert inst["status"] == "incident" and inst["jobs"] == []
    (incident,) = inst["incidents"]
    assert incident["attempts"] == 3 and incident["handler"] == HANDLER and CALLS[key] == 3
    assert "answer" not in inst["data"] and inst["data"]["key"] == key  # nothing of the garbage kept
    assert inst["state_size"] < 200_000
    counted = actions(medflow, started["id"])
    assert counted["retry_scheduled"] == 2 and counted["incident_opened"] == 1
    BEHAVIOUR[key] = "ok"  # the registry is repaired
    medflow.runtime.retry_incident(incident["id"], "admin")
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed" and done["data"]["answer"] == {"ok": True, "attempt": 1}
    assert CALLS[key] == 4


def test_handler_slower_than_the_lease_is_not_called_twice(deployed, sim_clock):
    """The first attempt fails; the retry hangs inside the handler past its lease. A second
    worker must not run the same retry while the first is still inside it."""
    medflow = deployed
    key = "hang"
    started = _start(medflow, key, "timeout")
    BEHAVIOUR[key] = "hang"
    GATE.clear()
    INSIDE.clear()
    sim_clock.advance(timedelta(seconds=11))
    first = Actor("w1", lambda: Worker(medflow, "w1").tick()).begin()
    with StatementWatch(medflow):
        assert INSIDE.wait(TIMEOUT), "the retry never reached the handler"
        sim_clock.advance(timedelta(minutes=5))  # far past the 60 s lease
        second = Actor("w2", lambda: Worker(medflow, "w2").tick()).begin()
        if medflow.db.is_sqlite:
            wait_until_blocked(medflow, second)  # the whole database waits for the slow step
        else:
            assert second.result().value.fired == 0  # the job row is locked: SKIP LOCKED passes it by
        GATE.set()
    assert first.result().value.fired == 1 and second.result().value.fired == 0
    assert CALLS[key] == 2  # the failed first attempt and the one slow retry
    done = medflow.queries.instance(started["id"])
    assert done["status"] == "completed" and done["data"]["answer"] == {"ok": True, "attempt": 2}
