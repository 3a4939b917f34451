"""Moving waiting instances to a newer version of their process, where the change allows it.

An instance's state names the task specs it has passed through and waits in; the spec itself is
stored by reference. So an instance can move to version N+1 exactly when every task spec its
state names exists in N+1 with the same kind (a user task stays a user task), in the process and
in every subprocess it has open. Anything else is refused with the elements that block it, and
the instance stays on its version. A migrated instance is re-loaded against the new spec before
the change is written, so a state the new version cannot read is never saved.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import workflow_codec
from engine.errors import NotFound
from engine.instance_row import InstanceRow, read_row
from engine.instance_store import InstanceStore
from engine.models import Definition, Instance

_MOVABLE = ("running", "incident")
SQLITE_PAUSE_SECONDS = 0.12


@dataclass
class MigrationPlan:
    instance_id: int
    business_key: str
    from_version: int
    to_version: int
    blockers: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.blockers

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "allowed": self.allowed}


def _spec_kinds(spec: Any) -> dict[str, str]:
    return {name: type(task_spec).__name__ for name, task_spec in spec.task_specs.items()}


def blockers(state: str, spec: Any, subprocess_specs: dict[str, Any], old_spec: Any,
             old_subprocess_specs: dict[str, Any]) -> list[str]:
    """Why the state cannot be read with the new specs (empty: it can)."""
    dct = json.loads(state)
    problems = []
    new_kinds, old_kinds = _spec_kinds(spec), _spec_kinds(old_spec)

    def check(tasks: dict[str, Any], new: dict[str, str], old: dict[str, str], where: str) -> None:
        for task in tasks.values():
            name = task["task_spec"]
            if name not in new:
                problems.append(f"{where}элемент «{name}» удалён в новой версии")
            elif old.get(name) and new[name] != old[name]:
                problems.append(f"{where}элемент «{name}» сменил тип: {old[name]} → {new[name]}")

    check(dct["tasks"], new_kinds, old_kinds, "")
    for sub in dct.get("subprocesses", {}).values():
        name = sub.get("spec")
        if name not in subprocess_specs:
            problems.append(f"подпроцесс «{name}» отсутствует в новой версии")
            continue
        check(sub["tasks"], _spec_kinds(subprocess_specs[name]),
              _spec_kinds(old_subprocess_specs[name]) if name in old_subprocess_specs else {}, f"подпроцесс «{name}»: ")
    return sorted(set(problems))


class InstanceMigrator:
    def __init__(self, store: InstanceStore) -> None:
        self.store = store
        self.db = store.db

    def run(self, process_key: str, to_version: int | None, actor: str, apply: bool,
            batch: int = 200) -> list[MigrationPlan]:
        """Plan (and with ``apply`` carry out) the move of every running instance of ``process_key``.

        A transaction per ``batch`` instances: one for all of them held their locks for minutes
        (10,000 instances: 12 s on SQLite, where that is every writer's lock), so every other command
        gave up as busy, and a failure at the end undid everything. Each instance's move is whole
        with its audit event; after a failure, running again moves the rest."""
        with self.db.read() as session:
            target = self._target(session, process_key, to_version)
            versions = {d.id: d for d in session.scalars(select(Definition).where(Definition.process_key == process_key))}
            ids = session.scalars(select(Instance.id).where(
                Instance.process_key == process_key, Instance.status.in_(_MOVABLE),
                Instance.definition_id != target.id).order_by(Instance.id)).all()
        plans: list[MigrationPlan] = []
        for start in range(0, len(ids), max(1, batch)):
            if start and apply and self.db.is_sqlite:
                # SQLite has no queue for its write lock: a waiting writer polls it (up to every
                # 100 ms) and would miss the instant between two batches — and give up as busy.
                time.sleep(SQLITE_PAUSE_SECONDS)
            with (self.db.write() if apply else self.db.read()) as session:
                new_spec, new_subs = self.store.definitions.parsed(session, target.bundle_hash).spec_for(process_key)
                for instance_id in ids[start:start + batch]:
                    plan = self._plan(session, instance_id, target, versions, (new_spec, new_subs),
                                      actor if apply else None)
                    if plan is not None:
                        plans.append(plan)
        return plans

    def _plan(self, session: Session, instance_id: int, target: Definition, versions: dict[int, Definition],
              new: tuple[Any, Any], actor: str | None) -> MigrationPlan | None:
        """One instance's plan; carried out when an ``actor`` is given (``None``: a dry run)."""
        new_spec, new_subs = new
        row = read_row(session, instance_id, for_update=actor is not None and self.db.is_postgres)
        if row is None or row.status not in _MOVABLE or row.definition_id == target.id:
            return None  # finished, cancelled or moved since the list was read
        source = versions[row.definition_id]
        old_spec, old_subs = self.store.definitions.parsed(session, source.bundle_hash).spec_for(row.process_key)
        plan = MigrationPlan(row.id, row.business_key, source.version, target.version,
                             blockers(row.state, new_spec, new_subs, old_spec, old_subs))
        if plan.allowed:
            try:
                workflow_codec.loads(row.state, new_spec, new_subs)
            except Exception as exc:  # a state the new spec cannot read is refused, not saved
                plan.blockers.append(f"состояние не читается новой версией: {type(exc).__name__}: {exc}")
        if plan.allowed and actor is not None:
            self._move(session, row, target, plan, actor)
        return plan

    def _target(self, session: Session, process_key: str, version: int | None) -> Definition:
        query = select(Definition).where(Definition.process_key == process_key)
        query = query.where(Definition.version == version) if version else query.order_by(Definition.version.desc())
        target = session.scalar(query.limit(1))
        if target is None:
            raise NotFound(f"Версия {version or 'последняя'} процесса «{process_key}» не развёрнута")
        return target

    def _move(self, session: Session, row: InstanceRow, target: Definition, plan: MigrationPlan, actor: str) -> None:
        session.connection().execute(
            update(Instance).where(Instance.id == row.id, Instance.version == row.version)
            .values(definition_id=target.id, version=row.version + 1))
        self.store.audit(session, row.id, actor, "instance_migrated", None, f"v{plan.from_version}",
                         f"v{plan.to_version}")
