"""The period report a supervisor sends up every month: per procedure, how many applications came
in, how many were finished and with what result, how long they took in working days, and how many
staff tasks met their deadline.

Every figure is read by time range off an index (instances by creation and by finishing, tasks by
completion), so a month's report costs what that month holds, not what the database holds; the
rows for a CSV come a page at a time by id. No personal data: numbers, procedures and statuses
only (152-ФЗ: the report goes beyond the people who handle the applications).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select

from engine.account_rules import APPLICANT_GROUP
from engine.calendar import ProductionCalendar
from engine.db import Database
from engine.errors import ValidationFailed
from engine.models import Instance, UserTask
from engine.substitutions import parse_day
from engine.worklist_query import unindexed

MAX_DAYS = 366
PAGE = 1000
CANCELLED = "Отменено"
CSV_HEADER = ("Номер заявления", "Процедура", "Подано", "Состояние", "Статус для заявителя", "Завершено",
              "Рабочих дней")
STATUS_WORDS = {"running": "в работе", "completed": "завершено", "cancelled": "отменено", "incident": "инцидент"}


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive
    zone: ZoneInfo

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone)

    @property
    def until(self) -> datetime:  # exclusive: midnight after the last day
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone)


@dataclass
class ProcessFigures:
    process_key: str
    submitted: int = 0  # applications started in the period
    finished: int = 0  # completed or cancelled in the period, whenever they were started
    outcomes: Counter[str] = field(default_factory=Counter)  # the finished ones by their last status
    days: list[int] = field(default_factory=list)  # working days from start to finish, per finished one
    tasks_done: int = 0  # staff tasks completed in the period
    tasks_with_deadline: int = 0
    tasks_on_time: int = 0  # completed by their deadline

    def median_days(self) -> float | None:
        return percentile(self.days, 0.5)

    def p90_days(self) -> float | None:
        return percentile(self.days, 0.9)

    def on_time_share(self) -> float | None:
        return self.tasks_on_time / self.tasks_with_deadline if self.tasks_with_deadline else None

    def to_dict(self) -> dict[str, Any]:
        share = self.on_time_share()
        return {"process_key": self.process_key, "submitted": self.submitted, "finished": self.finished,
                "outcomes": dict(sorted(self.outcomes.items())), "median_working_days": self.median_days(),
                "p90_working_days": self.p90_days(), "tasks_done": self.tasks_done,
                "tasks_with_deadline": self.tasks_with_deadline, "tasks_on_time": self.tasks_on_time,
                "on_time_share": None if share is None else round(share, 4)}


def percentile(values: list[int], q: float) -> float | None:
    """The nearest-rank percentile (the value a share ``q`` of the values do not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q * len(ordered)) - 1)])


def period(first: Any, last: Any, zone: ZoneInfo, today: date) -> Period:
    """The period from form or API text (ISO or ДД.ММ.ГГГГ); refused by field, in Russian."""
    errors: list[dict[str, str]] = []
    start, end = parse_day(first, "from", errors), parse_day(last, "to", errors)
    if start and end:
        if end < start:
            errors.append({"field": "to", "message": "окончание раньше начала", "code": "order"})
        elif (end - start).days + 1 > MAX_DAYS:
            errors.append({"field": "to", "message": f"не дольше {MAX_DAYS} дней", "code": "too_long"})
        elif start > today:
            errors.append({"field": "from", "message": "период ещё не начался", "code": "future"})
    if errors or start is None or end is None:
        raise ValidationFailed("Отчёт не построен", errors=errors)
    return Period(start, end, zone)


class Reports:
    def __init__(self, db: Database, calendar: ProductionCalendar) -> None:
        self.db = db
        self.calendar = calendar

    def _plain(self, column: Any) -> Any:
        """A filter column SQLite must not choose an index by. With no statistics it prefers an
        equality (status, procedure) to the period's range: every completed application, or every
        one of the procedure, read to report one month (13 → 48 ms from 10,000 to 100,000)."""
        return unindexed(column) if self.db.is_sqlite else column

    def _only(self, process_key: str | None) -> list[Any]:
        return [self._plain(Instance.process_key) == process_key] if process_key else []

    def applications(self, span: Period, process_key: str | None = None) -> list[ProcessFigures]:
        figures: dict[str, ProcessFigures] = defaultdict(lambda: ProcessFigures(""))
        since, until = span.since, span.until
        only = self._only(process_key)
        with self.db.read_one() as connection:
            for key, count in connection.execute(
                    select(Instance.process_key, func.count()).where(
                        Instance.created_at >= since, Instance.created_at < until, *only)
                    .group_by(Instance.process_key)):
                figures[key].submitted = count
            finished = select(Instance.process_key, Instance.status, Instance.portal_status, Instance.created_at,
                              Instance.completed_at).where(
                Instance.completed_at >= since, Instance.completed_at < until,
                self._plain(Instance.status).in_(("completed", "cancelled")), *only)
            for row in connection.execute(finished):
                entry = figures[row.process_key]
                entry.finished += 1
                entry.outcomes[CANCELLED if row.status == "cancelled" else row.portal_status or "Завершено"] += 1
                if row.status == "completed":
                    entry.days.append(self._working_days(row.created_at, row.completed_at, span.zone))
            tasks = select(UserTask.process_key, func.count(), func.count(UserTask.due_at),
                           func.sum(_on_time())).where(
                UserTask.status == "completed", UserTask.completed_at >= since, UserTask.completed_at < until,
                UserTask.completed_by.is_not(None), UserTask.candidate_group != APPLICANT_GROUP,
                *([UserTask.process_key == process_key] if process_key else [])).group_by(UserTask.process_key)
            for key, done, dated, on_time in connection.execute(tasks):
                entry = figures[key]
                entry.tasks_done, entry.tasks_with_deadline, entry.tasks_on_time = done, dated, int(on_time or 0)
        for key, entry in figures.items():
            entry.process_key = key
        return [figures[key] for key in sorted(figures)]

    def rows(self, span: Period, process_key: str | None = None) -> Iterator[dict[str, Any]]:
        """The applications started in the period, in the order they came, a page at a time off the
        (created_at, id) index (a CSV streams them)."""
        after: tuple[datetime, int] | None = None
        while True:
            query = (select(Instance.id, Instance.business_key, Instance.process_key, Instance.status,
                            Instance.portal_status, Instance.created_at, Instance.completed_at)
                     .where(Instance.created_at >= span.since, Instance.created_at < span.until,
                            *self._only(process_key))
                     .order_by(Instance.created_at, Instance.id).limit(PAGE))
            if after is not None:
                query = query.where(or_(Instance.created_at > after[0],
                                        and_(Instance.created_at == after[0], Instance.id > after[1])))
            with self.db.read_one() as connection:
                page = connection.execute(query).all()
            for row in page:
                done = row.completed_at if row.status == "completed" else None
                yield {"business_key": row.business_key, "process_key": row.process_key,
                       "created_at": _local(row.created_at, span.zone), "status": row.status,
                       "portal_status": row.portal_status or "",
                       "completed_at": _local(row.completed_at, span.zone) if row.completed_at else None,
                       "working_days": self._working_days(row.created_at, done, span.zone) if done else None}
            if len(page) < PAGE:
                return
            after = (page[-1].created_at, page[-1].id)

    def _working_days(self, start: datetime, end: datetime, zone: ZoneInfo) -> int:
        return max(0, self.calendar.working_days_between(_local(start, zone).date(), _local(end, zone).date()))


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))).astimezone(zone)


def _on_time() -> Any:
    return case((and_(UserTask.due_at.is_not(None), UserTask.completed_at <= UserTask.due_at), 1), else_=0)


def csv_chunks(rows: Iterable[dict[str, Any]], names: dict[str, str]) -> Iterator[str]:
    """The rows as CSV for a spreadsheet in a Russian locale: a UTF-8 byte-order mark (without it
    Excel reads the file as cp1251) and ``;`` between fields (``,`` is the decimal separator
    there). A chunk per row, so a web response or a file can stream a year of applications."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield "\ufeff" + line(CSV_HEADER)
    for row in rows:
        yield line((_cell(row["business_key"]), _cell(names.get(row["process_key"], row["process_key"])),
                    f"{row['created_at']:%d.%m.%Y %H:%M}", STATUS_WORDS.get(row["status"], row["status"]),
                    _cell(row["portal_status"]), f"{row['completed_at']:%d.%m.%Y %H:%M}" if row["completed_at"] else "",
                    "" if row["working_days"] is None else row["working_days"]))


def _cell(text: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) is kept as text: statuses and
    names come from diagrams an analyst deploys, not from code (OWASP "CSV injection")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
