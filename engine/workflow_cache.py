"""Recently saved workflows kept in memory, so the next step on an instance skips deserializing.

An entry is valid only for the row version it was saved as: another process's write bumps the
version and the entry is ignored. A step takes the entry out while it works (a failed step
leaves nothing behind) and puts it back only after its transaction committed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "medflow_workflow_cache"


class WorkflowCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def resize(self, capacity: int) -> None:
        with self._lock:
            self.capacity = capacity
            self._trim()

    def take(self, instance_id: int, version: int) -> Any | None:
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        if entry is not None and entry[0] == version:
            return entry[1]
        return None

    def offer(self, session: Session, instance_id: int, version: int, workflow: Any) -> None:
        """Cache ``workflow`` once ``session`` commits."""
        if self.capacity > 0:
            session.info.setdefault(_PENDING, []).append((self, instance_id, version, workflow))

    def _put(self, instance_id: int, version: int, workflow: Any) -> None:
        # The script engine's call context holds the finished step's session and row: a cached
        # workflow must not keep them alive (load() gives it a fresh engine anyway).
        workflow.script_engine = None
        with self._lock:
            self._entries[instance_id] = (version, workflow)
            self._entries.move_to_end(instance_id)
            self._trim()

    def _trim(self) -> None:
        """Drop the least recently saved entries beyond the capacity (the caller holds the lock)."""
        while len(self._entries) > max(0, self.capacity):
            self._entries.popitem(last=False)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for cache, instance_id, version, workflow in session.info.pop(_PENDING, []):
        cache._put(instance_id, version, workflow)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)
