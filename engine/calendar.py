"""The Russian production calendar: the `holidays` package plus a per-year override file.

Deadlines in the procedures count working days, and the government moves days off every year by
decree. The library knows the decrees it was released with; the override file lets an administrator
add next year's decree without a release, and its entries win over the library.

>>> cal = ProductionCalendar.from_dict({"years": {2026: {"decree": "№ 1466", "days_off": [], "working_days": []}}})
>>> cal.add_working_days(date(2026, 4, 30), 10)
datetime.date(2026, 5, 18)
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import yaml

_ALLOWED_YEAR_KEYS = frozenset({"decree", "days_off", "working_days"})
# The calendar refuses to walk past this year: a runaway timer expression should fail loudly
# instead of spinning through millennia of empty years.
_MAX_YEAR = 9998
# About four centuries: far beyond any deadline, small enough that a typo cannot stall a worker.
MAX_WORKING_DAYS = 100_000


class CalendarError(Exception):
    """The override file cannot be used; the message (Russian) names the file and the entry."""


@dataclass(frozen=True)
class YearOverride:
    """One year of the override file."""

    decree: str | None = None
    days_off: frozenset[date] = field(default_factory=frozenset)
    working_days: frozenset[date] = field(default_factory=frozenset)


@dataclass(frozen=True)
class _Year:
    working: tuple[date, ...]  # sorted, for bisect
    working_set: frozenset[date]


class _Loader(yaml.SafeLoader):
    """Keeps YAML timestamps as text: PyYAML raises a bare ValueError on 2026-02-30, losing the entry."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def _parse_day(raw: Any, year: int, where: str) -> date:
    if isinstance(raw, date):
        value = raw
    elif isinstance(raw, str):
        try:
            value = date.fromisoformat(raw.strip())
        except ValueError:
            raise CalendarError(f"{where}: «{raw}» не является датой в формате ГГГГ-ММ-ДД") from None
    else:
        raise CalendarError(f"{where}: «{raw}» не является датой в формате ГГГГ-ММ-ДД")
    # YAML turns 2025-01-01 into a date, but a datetime would slip through isinstance(date).
    if hasattr(value, "hour"):
        raise CalendarError(f"{where}: «{raw}» — ожидается дата без времени")
    if value.year != year:
        raise CalendarError(f"{where}: дата {value.isoformat()} не относится к {year} году")
    return value


def _parse_days(raw: Any, year: int, where: str) -> frozenset[date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list):
        raise CalendarError(f"{where}: ожидается список дат, получено «{raw}»")
    return frozenset(_parse_day(item, year, where) for item in raw)


def parse_overrides(data: Any, source: str = "переопределения календаря") -> dict[int, YearOverride]:
    """Validate the parsed override file; ``source`` names the file in error messages."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise CalendarError(f"{source}: ожидается словарь с ключом years")
    unknown = sorted(str(key) for key in data if key != "years")
    if unknown:
        raise CalendarError(f"{source}: неизвестный ключ верхнего уровня «{unknown[0]}» (ожидается years)")
    years = data.get("years")
    if years is None:
        return {}
    if not isinstance(years, Mapping):
        raise CalendarError(f"{source}: years — ожидается словарь «год: настройки»")
    result: dict[int, YearOverride] = {}
    for raw_year, entry in years.items():
        # bool is an int subclass; `True:` in YAML is a typo, not the year 1.
        if isinstance(raw_year, bool) or not str(raw_year).strip().isdigit():
            raise CalendarError(f"{source}: years → «{raw_year}» не является годом")
        year = int(str(raw_year).strip())
        if not 1 <= year <= _MAX_YEAR:
            raise CalendarError(f"{source}: years → {year}: год вне допустимого диапазона")
        where = f"{source}: years → {year}"
        if year in result:
            raise CalendarError(f"{where}: год указан дважды")
        if entry is None:
            entry = {}
        if not isinstance(entry, Mapping):
            raise CalendarError(f"{where}: ожидается словарь с ключами decree, days_off, working_days")
        extra = sorted(str(key) for key in entry if key not in _ALLOWED_YEAR_KEYS)
        if extra:
            raise CalendarError(
                f"{where}: неизвестный ключ «{extra[0]}» (допустимы decree, days_off, working_days)"
            )
        decree = entry.get("decree")
        if decree is not None and (not isinstance(decree, str) or not decree.strip()):
            raise CalendarError(f"{where} → decree: ожидается непустая строка с реквизитами постановления")
        days_off = _parse_days(entry.get("days_off"), year, f"{where} → days_off")
        working_days = _parse_days(entry.get("working_days"), year, f"{where} → working_days")
        both = sorted(days_off & working_days)
        if both:
            raise CalendarError(
                f"{where}: дата {both[0].isoformat()} указана и в days_off, и в working_days"
            )
        result[year] = YearOverride(
            decree=decree.strip() if decree else None, days_off=days_off, working_days=working_days
        )
    return result


def _plain_date(d: date) -> date:
    # A datetime would compare unequal to every date in the sets and quietly read as a day off; and
    # which calendar day a UTC instant falls on depends on the zone, which only the caller knows.
    if isinstance(d, datetime):
        raise TypeError("Ожидается дата (date), а не datetime: переведите момент в часовой пояс календаря")
    return d


def _year_days(year: int) -> list[date]:
    first = date(year, 1, 1)
    count = (date(year + 1, 1, 1) - first).days
    return [first + timedelta(days=offset) for offset in range(count)]


class ProductionCalendar:
    """Working days of the Russian Federation (five-day week)."""

    def __init__(self, overrides_path: Path | None = None) -> None:
        overrides: dict[int, YearOverride] = {}
        if overrides_path is not None:
            path = Path(overrides_path)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise CalendarError(f"{path}: файл переопределений календаря не найден") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise CalendarError(f"{path}: файл переопределений календаря не читается: {exc}") from None
            try:
                data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
            except yaml.YAMLError as exc:
                raise CalendarError(f"{path}: файл не читается как YAML: {exc}") from None
            overrides = parse_overrides(data, str(path))
        self._init(overrides)

    @classmethod
    def from_dict(cls, data: Any, source: str = "переопределения календаря") -> ProductionCalendar:
        """Build from an already parsed override document (same shape as the YAML file)."""
        calendar = cls.__new__(cls)
        calendar._init(parse_overrides(data, source))
        return calendar

    def _init(self, overrides: dict[int, YearOverride]) -> None:
        self._overrides = overrides
        self._years: dict[int, _Year] = {}
        self._library: dict[int, holidays.HolidayBase] = {}

    # -- per-year data -------------------------------------------------------------------------

    def _library_year(self, year: int) -> holidays.HolidayBase:
        cached = self._library.get(year)
        if cached is None:
            cached = holidays.country_holidays("RU", years=year, language="ru")
            self._library[year] = cached
        return cached

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if not 1 <= year <= _MAX_YEAR:
            raise ValueError(f"Год {year} вне поддерживаемого диапазона календаря")
        library = self._library_year(year)
        override = self._overrides.get(year, YearOverride())
        working = tuple(
            d
            for d in _year_days(year)
            if d in override.working_days or (d not in override.days_off and library.is_working_day(d))
        )
        cached = _Year(working=working, working_set=frozenset(working))
        self._years[year] = cached
        return cached

    # -- queries -------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        d = _plain_date(d)
        return d in self._year(d.year).working_set

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day strictly after ``start`` (deadlines count from the next day).

        >>> ProductionCalendar().add_working_days(date(2026, 4, 30), 10)
        datetime.date(2026, 5, 18)
        """
        start = _plain_date(start)
        if n < 0:
            raise ValueError(f"Число рабочих дней не может быть отрицательным: {n}")
        if n > MAX_WORKING_DAYS:
            raise ValueError(f"Срок в {n} рабочих дней слишком велик (не больше {MAX_WORKING_DAYS})")
        if n == 0:
            return start
        remaining = n
        year = start.year
        working = self._year(year).working
        index = bisect.bisect_right(working, start)
        while True:
            available = len(working) - index
            if remaining <= available:
                return working[index + remaining - 1]
            remaining -= available
            year += 1
            if year > _MAX_YEAR:
                raise ValueError(f"Срок в {n} рабочих дней выходит за пределы календаря")
            working = self._year(year).working
            index = 0

    def _count_upto(self, d: date) -> int:
        """Working days from January 1 of d's year up to and including d."""
        return bisect.bisect_right(self._year(d.year).working, d)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b; negative when b is before a (an overdue SLA)."""
        a, b = _plain_date(a), _plain_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        total = self._count_upto(b) - self._count_upto(a)
        for year in range(a.year, b.year):
            total += len(self._year(year).working)
        return total

    def month(self, year: int, month: int) -> list[tuple[date, bool]]:
        """Every day of the month with its working flag."""
        if not 1 <= month <= 12:
            raise ValueError(f"Месяц должен быть от 1 до 12, получено {month}")
        working = self._year(year).working_set
        first = date(year, month, 1)
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        days = [first + timedelta(days=offset) for offset in range((following - first).days)]
        return [(d, d in working) for d in days]

    def working_days_in_year(self, year: int) -> int:
        return len(self._year(year).working)

    def decree(self, year: int) -> str | None:
        """The decree reference the override file gives for the year, if any."""
        override = self._overrides.get(year)
        return override.decree if override else None

    def describe(self, d: date) -> str:
        """Why the day is (not) a working day, in Russian, for people and the CLI."""
        override = self._overrides.get(d.year, YearOverride())
        library = self._library_year(d.year)
        name = library.get(d)
        by_decree = override.decree or "файл переопределений календаря"
        if self.is_working_day(d):
            if d.weekday() >= 5:
                if d in override.working_days:
                    return f"рабочий день (перенос: {by_decree})"
                return "рабочий день (перенос выходного дня)"
            if d in override.working_days and name:
                return f"рабочий день ({by_decree}, вопреки празднику «{name}»)"
            return "рабочий день"
        if name:
            # The library names transferred days "Выходной (перенесено с …)": that is not a holiday.
            if name.lower().startswith("выходной"):
                return name[0].lower() + name[1:]
            return f"праздник: {name}"
        if d in override.days_off:
            return f"выходной день ({by_decree})"
        return "выходной"
