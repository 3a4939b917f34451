"""Service-task handlers registered by name.

A diagram names a handler in ``spiffworkflow:serviceTaskOperator id="check_snils"``; the engine
looks it up here, checks the parameters against the handler's schema and calls it with plain
values. ``handlers/`` registers its functions with :func:`handler`; the engine never imports a
specific handler module, only the package that registers them.

>>> @handler("double", params={"type": "object", "required": ["x"]})
... def double(x: int, ctx: CallContext) -> dict:
...     return {"value": 2 * x}
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jsonschema


class BpmnError(Exception):
    """Raised by a handler for a business error a diagram may catch by ``code``."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code


class HandlerParameterError(Exception):
    """The diagram passed parameters the handler's schema rejects."""


@dataclass(frozen=True)
class CallContext:
    """What a handler may know about the call besides its parameters."""

    instance_id: int
    business_key: str
    process_key: str
    element_id: str
    task_id: str
    attempt: int
    now: datetime
    idempotency_key: str
    services: dict[str, Any] = field(default_factory=dict)
    # The engine step's session: handlers that write (outbox, tickets) write in the step's
    # transaction, so their effect commits or rolls back with the step.
    session: Any = None


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    func: Callable[..., Any]
    params_schema: dict[str, Any] | None
    description: str
    wants_context: bool

    def check_params(self, params: dict[str, Any]) -> None:
        if self.params_schema is None:
            return
        errors = sorted(
            jsonschema.Draft202012Validator(self.params_schema).iter_errors(params), key=lambda e: e.path
        )
        if errors:
            listed = "; ".join(
                f"{'.'.join(str(p) for p in err.path) or 'параметры'}: {err.message}" for err in errors
            )
            raise HandlerParameterError(f"обработчик {self.name}: неверные параметры — {listed}")


_REGISTRY: dict[str, HandlerSpec] = {}


def handler(
    name: str, params: dict[str, Any] | None = None, description: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as the service-task operator ``name``."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"handler {name!r} is registered twice")
        wants_context = "ctx" in inspect.signature(func).parameters
        doc = description or (inspect.getdoc(func) or "").split("\n")[0]
        _REGISTRY[name] = HandlerSpec(name, func, params, doc, wants_context)
        return func

    return register


def get_handler(name: str) -> HandlerSpec | None:
    return _REGISTRY.get(name)


def handler_names() -> list[str]:
    return sorted(_REGISTRY)


def all_handlers() -> list[HandlerSpec]:
    return [_REGISTRY[name] for name in handler_names()]


def unregister(name: str) -> None:
    """For tests that register throw-away handlers."""
    _REGISTRY.pop(name, None)


def load_handler_modules(modules: list[str]) -> None:
    """Import the packages whose import registers handlers (``handlers`` by default)."""
    for module in modules:
        importlib.import_module(module)
