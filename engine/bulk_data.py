"""Bulk data for benchmarks and demos: many applications made by cloning a few real ones.

Running 100,000 applications through the engine would take hours, so :func:`generate` runs one
*template* instance per (procedure, state, age) through the engine for real and then copies it
with plain SQL. A clone is an independent, runnable instance:

* every SpiffWorkflow task UUID in the serialized state gets a new value, consistently in the
  state and in the ``user_tasks`` / ``jobs`` / ``message_subscriptions`` / audit rows;
* it gets its own id and application number (the number sequence is advanced, so later real
  starts continue after the clones);
* every aware ISO time in the state and every time column is moved by the same small offset
  (never later than the template: a clone never has a timer that is already due), so due times
  spread instead of forming one block.

Clones share the template's task data (applicant, documents): the applicant differs per template,
not per clone. Rows of other tables keyed by instance (e.g. ``applications``, ``incidents``) are
copied when named in ``extra_tables``, with the clone's task ids.

>>> plan = plan_counts(DEFAULT_SHAPES, 100_000, random.Random(1))                # doctest: +SKIP
>>> cloner = Cloner(medflow.db); cloner.clone(template_id, 999, rng)             # doctest: +SKIP
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, Table, insert, select, text, update
from sqlalchemy.engine import Connection

from engine.db import Database
from engine.models import AuditEvent, Instance, Job, MessageSubscription, UserTask
from engine.models import Sequence as NumberSequence

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Only aware times: naive ones in task data are form values a person typed, not engine times.
_AWARE_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[+-]\d\d:\d\d|Z)"
_TOKEN = re.compile(f"({_UUID})|({_AWARE_TIME})")
BATCH = 2000  # clones per transaction: big enough to amortize, small enough to keep memory flat


@dataclass(frozen=True)
class Shape:
    """A kind of application: a procedure brought to one state by the first steps of a scenario.

    ``actions`` counts the scenario's action steps to run (``expect`` steps are skipped);
    ``ages`` are the working days since filing of the templates (one template per age), so the
    clones' deadlines spread over several weeks; ``min_age`` covers the time the steps
    themselves advance the clock.
    """

    name: str
    process_key: str
    scenario: str
    actions: int | None  # None: the whole scenario
    weight: float
    ages: tuple[int, ...] = (0, 1, 2, 3, 4, 6, 8, 10, 12, 15)
    min_age: int = 0


_LONG = (3, 4, 6, 8, 10, 12, 15, 20)
DEFAULT_SHAPES: tuple[Shape, ...] = (
    Shape("medbook/draft", "medbook_issuance", "medbook_happy_path.yaml", 1, 0.05, (0, 1, 2, 5)),
    Shape("medbook/review", "medbook_issuance", "medbook_happy_path.yaml", 2, 0.20),
    Shape("medbook/correction", "medbook_issuance", "medbook_correction_fixed_in_time.yaml", 2, 0.06, (0, 1, 2, 3, 4)),
    Shape("medbook/completed", "medbook_issuance", "medbook_happy_path.yaml", None, 0.16, _LONG, min_age=2),
    Shape("medbook/refused", "medbook_issuance", "medbook_correction_deadline_passed.yaml", None, 0.04, _LONG[2:], min_age=6),
    Shape("medbook/payment", "medbook_issuance", "medbook_printed_copy.yaml", 3, 0.02, (0, 1, 2, 4, 6)),
    Shape("clinician/identity", "clinician_registration", "clinician_happy_path.yaml", 2, 0.04, (0, 1, 2, 4, 6, 8)),
    Shape("clinician/review", "clinician_registration", "clinician_happy_path.yaml", 3, 0.05),
    Shape("clinician/employer", "clinician_registration", "clinician_happy_path.yaml", 4, 0.03, (0, 1, 2)),
    Shape("clinician/completed", "clinician_registration", "clinician_happy_path.yaml", None, 0.05, _LONG),
    Shape("qualification/review", "qualification_confirmation", "qualification_happy_path.yaml", 2, 0.05, (0, 1, 2, 3, 4)),
    Shape("qualification/completed", "qualification_confirmation", "qualification_happy_path.yaml", None, 0.05, _LONG),
    Shape("qualification/refused", "qualification_confirmation", "qualification_not_in_register.yaml", None, 0.02, _LONG),
    Shape("accreditation/commission", "accreditation", "accreditation_periodic_approved.yaml", 4, 0.06),
    Shape("accreditation/completed", "accreditation", "accreditation_periodic_approved.yaml", None, 0.04, _LONG),
    Shape("renewal/reminder", "renewal", "renewal_started_by_reminder.yaml", 4, 0.08, (0, 2, 5, 10, 20)),
)


def plan_counts(shapes: Sequence[Shape], total: int, rng: random.Random) -> dict[str, list[tuple[int, int]]]:
    """How many applications each (shape, age) template stands for; the counts add up to ``total``.

    Small totals use fewer ages (every template is a real engine run, the slow part).
    """
    weight = sum(s.weight for s in shapes)
    exact = [total * s.weight / weight for s in shapes]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(shapes)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    plan: dict[str, list[tuple[int, int]]] = {}
    for shape, count in zip(shapes, counts, strict=True):
        if count == 0:
            continue
        ages = [a for a in shape.ages if a >= shape.min_age] or [shape.min_age]
        ages = sorted(rng.sample(ages, min(len(ages), max(1, count // 40))))
        share = [count // len(ages)] * len(ages)
        for i in range(count - sum(share)):
            share[i] += 1
        plan[shape.name] = [(age, n) for age, n in zip(ages, share, strict=True) if n]
    return plan


# --- one template, many clones ---------------------------------------------------------------


@dataclass
class _Template:
    instance: dict[str, Any]
    parts: list[Any]  # literal strings and ("u", uuid) / ("t", iso) / ("k",) placeholders
    user_tasks: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    extra: dict[str, list[dict[str, Any]]]
    max_jitter: int  # seconds a clone may be moved earlier without a timer falling due


def _split_state(state: str, business_key: str) -> list[Any]:
    key_forms = {business_key, json.dumps(business_key)[1:-1]}
    pattern = re.compile(_TOKEN.pattern + "|(" + "|".join(re.escape(k) for k in key_forms) + ")")
    parts: list[Any] = []
    last = 0
    for match in pattern.finditer(state):
        parts.append(state[last:match.start()])
        if match.group(1):
            parts.append(("u", match.group(1)))
        elif match.group(2):
            parts.append(("t", match.group(2)))
        else:
            parts.append(("k", match.group(0) != business_key))
        last = match.end()
    parts.append(state[last:])
    return parts


def _shift(value: Any, delta: timedelta) -> Any:
    return value + delta if isinstance(value, datetime) else value


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _rows(conn: Connection, table: Table, where: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(table).where(where)).mappings()]


@dataclass
class _Clone:
    """Identity of one clone: its id, number, task UUIDs and time offset."""

    instance_id: int
    business_key: str
    started_by: str | None
    delta: timedelta
    uuids: dict[str, str] = field(default_factory=dict)

    def uuid(self, old: str, rng: random.Random) -> str:
        new = self.uuids.get(old)
        if new is None:
            new = self.uuids[old] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return new

    def rewrite(self, value: Any, rng: random.Random) -> Any:
        """A JSON value of an audit or handler row with task ids and times of this clone."""
        if isinstance(value, str):
            return _TOKEN.sub(lambda m: self.uuid(m.group(1), rng) if m.group(1)
                              else (datetime.fromisoformat(m.group(2)) + self.delta).isoformat(), value)
        if isinstance(value, dict):
            return {k: self.rewrite(v, rng) for k, v in value.items()}
        if isinstance(value, list):
            return [self.rewrite(v, rng) for v in value]
        return value


class Cloner:
    """Copies instances in bulk; see the module docstring for what makes a clone independent."""

    def __init__(self, db: Database, now: datetime, extra_tables: Sequence[str] = (), with_audit: bool = True) -> None:
        self.db = db
        self.now = now
        self.with_audit = with_audit
        metadata = MetaData()
        self.extra_tables = [Table(name, metadata, autoload_with=db.write_engine) for name in extra_tables]

    def _load(self, conn: Connection, template_id: int) -> _Template:
        instance = dict(conn.execute(select(Instance.__table__).where(Instance.id == template_id)).mappings().one())
        jobs = _rows(conn, Job.__table__, (Job.instance_id == template_id) & (Job.status == "waiting"))
        audit = _rows(conn, AuditEvent.__table__, AuditEvent.instance_id == template_id) if self.with_audit else []
        extra = {t.name: _rows(conn, t, t.c.instance_id == template_id) for t in self.extra_tables}
        next_due = min((_aware(j["due_at"]) for j in jobs), default=None)
        # Moving a clone earlier must not make its first timer due already: it would fire at once.
        slack = 3600 if next_due is None else int((next_due - self.now).total_seconds()) - 120
        return _Template(
            instance=instance, parts=_split_state(instance["state"], instance["business_key"]),
            user_tasks=_rows(conn, UserTask.__table__, UserTask.instance_id == template_id), jobs=jobs,
            subscriptions=_rows(conn, MessageSubscription.__table__, MessageSubscription.instance_id == template_id),
            audit=audit, extra=extra, max_jitter=max(0, min(3600, slack)),
        )

    def clone(self, template_id: int, count: int, rng: random.Random,
              progress: Callable[[int], None] | None = None, spread: tuple[int, int] | None = None) -> list[int]:
        """``count`` copies of instance ``template_id``; returns their ids.

        ``spread`` (seconds, low and high) replaces the default offset: (0, 0) makes every timer of
        every clone fall due at the same moment as the template's — what a timer benchmark wants.
        """
        with self.db.write() as session:
            template = self._load(session.connection(), template_id)
        low, high = spread if spread is not None else (-template.max_jitter, 0)
        made: list[int] = []
        for start in range(0, count, BATCH):
            n = min(BATCH, count - start)
            with self.db.write() as session:
                made += self._clone_batch(session.connection(), template, n, rng, low, high)
            if progress is not None:
                progress(n)
        return made

    def _allocate(self, conn: Connection, template: _Template, n: int) -> tuple[list[int], list[str]]:
        if self.db.is_postgres:
            ids = list(conn.execute(text("SELECT nextval(pg_get_serial_sequence('instances', 'id')) "
                                         "FROM generate_series(1, :n)"), {"n": n}).scalars())
        else:  # the write transaction holds SQLite's lock: nobody else takes ids meanwhile
            first = (conn.execute(text("SELECT coalesce(max(id), 0) FROM instances")).scalar_one()) + 1
            ids = list(range(first, first + n))
        name = template.instance["business_key"].rsplit("-", 1)[0]
        conn.execute(update(NumberSequence).where(NumberSequence.name == name).values(value=NumberSequence.value + n))
        last = conn.execute(select(NumberSequence.value).where(NumberSequence.name == name)).scalar_one()
        return ids, [f"{name}-{number:06d}" for number in range(last - n + 1, last + 1)]

    def _clone_batch(self, conn: Connection, template: _Template, n: int, rng: random.Random,
                     low: int, high: int) -> list[int]:
        ids, keys = self._allocate(conn, template, n)
        clones = [
            _Clone(instance_id, key, f"applicant{key.rsplit('-', 1)[1]}", timedelta(seconds=rng.randint(low, high)))
            for instance_id, key in zip(ids, keys, strict=True)
        ]
        conn.execute(insert(Instance.__table__), [self._instance(template, c, rng) for c in clones])
        self._children(conn, template, clones, rng)
        return ids

    def _instance(self, template: _Template, c: _Clone, rng: random.Random) -> dict[str, Any]:
        key_escaped = json.dumps(c.business_key)[1:-1]
        out: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "u":
                out.append(c.uuid(part[1], rng))
            elif part[0] == "t":
                out.append((datetime.fromisoformat(part[1]) + c.delta).isoformat())
            else:
                out.append(key_escaped if part[1] else c.business_key)
        row = {k: _shift(v, c.delta) for k, v in template.instance.items()}
        state = "".join(out)
        row.update(id=c.instance_id, business_key=c.business_key, state=state, state_size=len(state),
                   started_by=c.started_by, version=1)
        return row

    def _children(self, conn: Connection, template: _Template, clones: list[_Clone], rng: random.Random) -> None:
        started_by = template.instance["started_by"]

        def person(value: Any, c: _Clone) -> Any:
            return c.started_by if value is not None and value == started_by else value

        tasks, jobs, subs, audit = [], [], [], []
        for c in clones:
            for r in template.user_tasks:
                tasks.append({**{k: _shift(v, c.delta) for k, v in r.items()}, "id": c.uuid(r["id"], rng),
                              "instance_id": c.instance_id, "business_key": c.business_key,
                              "assignee": person(r["assignee"], c), "completed_by": person(r["completed_by"], c)})
            for r in template.jobs:
                row = {k: _shift(v, c.delta) for k, v in r.items() if k != "id"}
                jobs.append({**row, "instance_id": c.instance_id, "task_id": c.uuid(r["task_id"], rng)})
            for r in template.subscriptions:
                row = {k: _shift(v, c.delta) for k, v in r.items() if k != "id"}
                subs.append({**row, "instance_id": c.instance_id, "business_key": c.business_key,
                             "task_id": c.uuid(r["task_id"], rng)})
            for r in template.audit:
                audit.append({**{k: v for k, v in r.items() if k != "id"}, "instance_id": c.instance_id,
                              "at": r["at"] + c.delta,
                              "actor": person(r["actor"], c),
                              "old": c.rewrite(r["old"], rng) if r["old"] else r["old"],
                              "new": c.rewrite(r["new"], rng) if r["new"] else r["new"],
                              "details": c.rewrite(r["details"], rng) if r["details"] else r["details"]})
        for table, rows in ((UserTask.__table__, tasks), (Job.__table__, jobs),
                            (MessageSubscription.__table__, subs)):
            if rows:
                conn.execute(insert(table), rows)
        if audit:
            conn.execute(insert(AuditEvent.__table__), audit)
        for table in self.extra_tables:
            rows = []
            for c in clones:
                for r in template.extra[table.name]:
                    row = {k: _shift(v, c.delta) for k, v in r.items() if k != "id"}
                    row.update(instance_id=c.instance_id)
                    if row.get("task_id"):  # e.g. an incident's task: the clone's own, as in its state
                        row["task_id"] = c.uuid(row["task_id"], rng)
                    if "business_key" in row:
                        row["business_key"] = c.business_key
                    rows.append(row)
            if rows:
                conn.execute(insert(table), rows)


# --- the whole data set ------------------------------------------------------------------------


TemplateMaker = Callable[[Shape, datetime], int]


@dataclass
class GenerateReport:
    applications: int = 0
    templates: int = 0
    by_shape: dict[str, int] = field(default_factory=dict)
    seconds_templates: float = 0.0
    seconds_clones: float = 0.0
    seconds_analyze: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"applications": self.applications, "templates": self.templates, "by_shape": self.by_shape,
                "seconds_templates": round(self.seconds_templates, 1), "seconds_clones": round(self.seconds_clones, 1),
                "seconds_analyze": round(self.seconds_analyze, 1)}


def filed_at(now: datetime, age: int, is_working_day: Callable[[Any], bool], zone: Any,
             rng: random.Random) -> datetime:
    """A time in office hours ``age`` working days before ``now`` (never after ``now``)."""
    day = now.astimezone(zone).date()
    while age > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            age -= 1
    local = datetime(day.year, day.month, day.day, 9, tzinfo=zone) + timedelta(minutes=rng.randint(0, 8 * 60))
    return min(local.astimezone(UTC), now - timedelta(minutes=5))


def generate(db: Database, applications: int, make_template: TemplateMaker, filing_time: Callable[[int], datetime],
             now: datetime, seed: int = 1, shapes: Sequence[Shape] = DEFAULT_SHAPES,
             extra_tables: Sequence[str] = (), progress: Callable[[str], None] | None = None) -> GenerateReport:
    """``applications`` instances: per (shape, age) one real template, the rest its clones."""
    rng = random.Random(seed)
    report = GenerateReport()
    by_name = {s.name: s for s in shapes}
    cloner = Cloner(db, now, extra_tables)
    work: list[tuple[int, int, str]] = []
    started = time.perf_counter()
    for name, ages in plan_counts(shapes, applications, rng).items():
        for age, count in ages:
            work.append((make_template(by_name[name], filing_time(age)), count - 1, name))
            report.templates += 1
            report.by_shape[name] = report.by_shape.get(name, 0) + count
    report.seconds_templates = time.perf_counter() - started
    if progress:
        progress(f"{report.templates} шаблонов за {report.seconds_templates:.1f} с; копирование…")
    started = time.perf_counter()
    for template_id, copies, _name in work:
        if copies:
            cloner.clone(template_id, copies, rng)
    report.seconds_clones = time.perf_counter() - started
    started = time.perf_counter()
    # The tables grew by orders of magnitude in seconds; the planner should not wait for
    # autovacuum (PostgreSQL) or never learn it (SQLite keeps no statistics until ANALYZE).
    with db.write() as session:
        session.execute(text("ANALYZE"))
    report.seconds_analyze = time.perf_counter() - started
    report.applications = sum(report.by_shape.values())
    return report

