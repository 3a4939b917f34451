"""Handlers used by the engine tests' diagrams (imported as a handler module by conftest)."""

from __future__ import annotations

import time
from typing import Any

from engine.handler_registry import BpmnError, CallContext, handler

FLAKY_FAILURES: dict[str, int] = {}
CALLS: list[str] = []


@handler("test_issue")
def test_issue(number: str, ctx: CallContext) -> dict[str, Any]:
    CALLS.append(ctx.idempotency_key)
    return {"number": f"N-{ctx.business_key}", "for": number}


@handler("test_flaky", params={"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}})
def test_flaky(key: str, ctx: CallContext) -> dict[str, Any]:
    remaining = FLAKY_FAILURES.get(key, 0)
    if remaining > 0:
        FLAKY_FAILURES[key] = remaining - 1
        raise ConnectionError(f"реестр не отвечает (попытка {ctx.attempt})")
    return {"ok": True, "attempt": ctx.attempt}


@handler("test_registry")
def test_registry(snils: str) -> dict[str, Any]:
    if snils.startswith("000"):
        raise BpmnError("REGISTRY_MISMATCH", "СНИЛС не найден в реестре")
    return {"found": True}


@handler("test_slow", params={"type": "object", "properties": {"seconds": {"type": "number"}}})
def test_slow(seconds: float) -> dict[str, Any]:
    """A registry that answers late."""
    time.sleep(seconds)
    return {"slept": seconds}
