"""What handlers need besides their parameters: settings, the database and the step's session.

Handlers that write (outbox, tickets, issued certificates) must write in the *same* transaction as
the engine step that calls them: the notification is then committed together with the status
change that caused it (an outbox, not a side effect), and on SQLite a second writer would wait
for the step's own lock until it times out.

The engine hands handlers ``ctx.services`` (one dict per engine); :func:`install` puts a
:class:`HandlerEnvironment` there. Until the engine passes the step's session in the call context,
:func:`install` wraps ``InstanceStore.finish_step`` to publish it through a context variable.

>>> install(medflow)                                  # doctest: +SKIP
>>> session_for(ctx).add(SupportTicket(...))          # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from engine.config import Settings
from engine.db import Database
from engine.handler_registry import CallContext

SERVICES_KEY = "medflow_handlers"
_step_session: ContextVar[Session | None] = ContextVar("medflow_step_session", default=None)


@dataclass
class HandlerEnvironment:
    """Shared, long-lived objects of the handlers of one engine (one per ``build``)."""

    db: Database
    settings: Settings
    adapters: dict[str, Any] = field(default_factory=dict)

    def setting(self, dotted: str, default: Any = None) -> Any:
        return self.settings.get(dotted, default)

    def path(self, dotted: str, default: str) -> Path:
        return self.settings.path(dotted, default)

    def adapter(self, kind: str, default: str) -> Any:
        """The adapter configured at ``adapters.<kind>`` ("module:Class"), created once.

        A real registry client slots in by configuration: the class is built with this
        environment and must offer the same methods as the local implementation.
        """
        if kind not in self.adapters:
            target = str(self.setting(f"adapters.{kind}", default) or default)
            module_name, _, class_name = target.partition(":")
            cls = getattr(importlib.import_module(module_name), class_name)
            self.adapters[kind] = cls(self)
        return self.adapters[kind]


def environment(ctx: CallContext) -> HandlerEnvironment:
    env = ctx.services.get(SERVICES_KEY)
    if env is None:
        raise RuntimeError("обработчики не подключены к движку: вызовите handlers.setup(medflow)")
    return env


def session_for(ctx: CallContext) -> Session:
    """The session of the engine step that is calling the handler."""
    session = getattr(ctx, "session", None) or _step_session.get()
    if session is None:
        raise RuntimeError("обработчик вызван вне шага процесса: нет сессии базы данных")
    return session


@contextmanager
def step_session(session: Session) -> Iterator[None]:
    token = _step_session.set(session)
    try:
        yield
    finally:
        _step_session.reset(token)


def install(medflow: Any) -> HandlerEnvironment:
    """Connect the handlers to an engine built by ``engine.bootstrap.build``; idempotent."""
    store = medflow.store
    env = store.services.get(SERVICES_KEY)
    if env is None:
        env = HandlerEnvironment(medflow.db, medflow.settings)
        store.services[SERVICES_KEY] = env
    if not getattr(store.finish_step, "_medflow_session_bridge", False):
        original = store.finish_step

        def finish_step(session: Session, *args: Any, **kwargs: Any) -> Any:
            with step_session(session):
                return original(session, *args, **kwargs)

        finish_step._medflow_session_bridge = True  # type: ignore[attr-defined]
        store.finish_step = finish_step
    return env
