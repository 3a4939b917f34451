"""The production calendar: the facts from DOMAIN.md, the counting rule, and the override file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar import CalendarError, ProductionCalendar

REPO_OVERRIDES = Path(__file__).resolve().parent.parent / "calendar-overrides.yaml"
MONTHS_2026 = [15, 19, 21, 22, 19, 21, 23, 21, 22, 22, 20, 22]


@pytest.fixture(scope="module")
def cal() -> ProductionCalendar:
    return ProductionCalendar(REPO_OVERRIDES)


@pytest.fixture(scope="module")
def library_only() -> ProductionCalendar:
    return ProductionCalendar()


# -- facts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("calendar_name", ["cal", "library_only"])
@pytest.mark.parametrize("year", [2025, 2026])
def test_years_have_247_working_days(request: pytest.FixtureRequest, calendar_name: str, year: int) -> None:
    assert request.getfixturevalue(calendar_name).working_days_in_year(year) == 247


def test_2026_working_days_by_month(cal: ProductionCalendar) -> None:
    counts = [sum(working for _, working in cal.month(2026, m)) for m in range(1, 13)]
    assert counts == MONTHS_2026


def test_month_lists_every_day_in_order(cal: ProductionCalendar) -> None:
    days = cal.month(2026, 2)
    assert [d for d, _ in days] == [date(2026, 2, 1) + timedelta(days=i) for i in range(28)]
    assert dict(days)[date(2026, 2, 23)] is False
    assert dict(days)[date(2026, 2, 24)] is True


def test_month_rejects_a_month_that_does_not_exist(cal: ProductionCalendar) -> None:
    with pytest.raises(ValueError):
        cal.month(2026, 13)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 11, 1), True),  # working Saturday by decree 1335
        (date(2025, 11, 3), False),  # the Monday it was swapped for
        (date(2025, 12, 31), False),
        (date(2025, 5, 8), False),
        (date(2026, 1, 9), False),
        (date(2026, 1, 12), True),
        (date(2026, 3, 9), False),
        (date(2026, 5, 11), False),
        (date(2026, 5, 12), True),
        (date(2026, 5, 16), False),  # an ordinary Saturday
        (date(2026, 4, 30), True),
    ],
)
def test_individual_days(cal: ProductionCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


# -- counting -------------------------------------------------------------------------------


def test_ten_working_days_from_thursday_april_30_2026(cal: ProductionCalendar) -> None:
    assert cal.add_working_days(date(2026, 4, 30), 10) == date(2026, 5, 18)


def test_counting_starts_the_day_after_the_event(cal: ProductionCalendar) -> None:
    assert cal.add_working_days(date(2026, 4, 27), 1) == date(2026, 4, 28)  # Monday → Tuesday
    assert cal.add_working_days(date(2026, 5, 8), 1) == date(2026, 5, 12)  # Fri → past the long weekend


def test_zero_days_is_the_start_even_on_a_holiday(cal: ProductionCalendar) -> None:
    assert cal.add_working_days(date(2026, 1, 1), 0) == date(2026, 1, 1)


def test_count_crosses_new_year_holidays(cal: ProductionCalendar) -> None:
    assert cal.add_working_days(date(2025, 12, 30), 1) == date(2026, 1, 12)
    assert cal.add_working_days(date(2025, 12, 29), 2) == date(2026, 1, 12)


def test_negative_count_is_refused_in_russian(cal: ProductionCalendar) -> None:
    with pytest.raises(ValueError, match="отрицательным"):
        cal.add_working_days(date(2026, 1, 1), -1)


def test_absurd_count_is_refused_instead_of_spinning(cal: ProductionCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 1, 1), 10**9)


def test_working_days_between(cal: ProductionCalendar) -> None:
    assert cal.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 247
    assert cal.working_days_between(date(2026, 4, 30), date(2026, 5, 18)) == 10
    assert cal.working_days_between(date(2026, 5, 18), date(2026, 4, 30)) == -10
    assert cal.working_days_between(date(2026, 5, 1), date(2026, 5, 1)) == 0
    # An event on a day off: the next working day is day one.
    assert cal.working_days_between(date(2026, 5, 9), date(2026, 5, 12)) == 1


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
    n=st.integers(min_value=1, max_value=600),
)
def test_add_and_between_agree(cal: ProductionCalendar, start: date, n: int) -> None:
    due = cal.add_working_days(start, n)
    assert cal.is_working_day(due)
    assert cal.working_days_between(start, due) == n
    # The day before the deadline is still short of n working days.
    assert cal.working_days_between(start, due - timedelta(days=1)) == n - 1


def test_datetimes_are_refused_rather_than_read_as_days_off(cal: ProductionCalendar) -> None:
    moment = datetime(2026, 5, 12, 21, 30, tzinfo=UTC)  # already May 13 in Moscow
    with pytest.raises(TypeError):
        cal.is_working_day(moment)
    with pytest.raises(TypeError):
        cal.add_working_days(moment, 1)


# -- descriptions ---------------------------------------------------------------------------


def test_decree_comes_from_the_override_file(cal: ProductionCalendar, library_only: ProductionCalendar) -> None:
    assert "1335" in (cal.decree(2025) or "")
    assert "1466" in (cal.decree(2026) or "")
    assert cal.decree(2031) is None
    assert library_only.decree(2025) is None


def test_describe(cal: ProductionCalendar) -> None:
    assert cal.describe(date(2026, 1, 1)) == "праздник: Новогодние каникулы"
    assert cal.describe(date(2026, 5, 16)) == "выходной"
    assert cal.describe(date(2026, 5, 12)) == "рабочий день"
    saturday = cal.describe(date(2025, 11, 1))
    assert saturday.startswith("рабочий день (перенос") and "1335" in saturday
    assert cal.describe(date(2025, 5, 2)).startswith("выходной")


# -- the override file ----------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_override_file_wins_over_the_library(tmp_path: Path, library_only: ProductionCalendar) -> None:
    wednesday, sunday, russia_day = date(2026, 4, 15), date(2026, 4, 19), date(2026, 6, 12)
    assert library_only.is_working_day(wednesday) and not library_only.is_working_day(sunday)
    assert not library_only.is_working_day(russia_day)
    path = write(
        tmp_path,
        "years:\n  2026:\n    decree: Тестовое постановление № 1\n"
        "    days_off: [2026-04-15]\n    working_days: [2026-04-19, 2026-06-12]\n",
    )
    cal = ProductionCalendar(path)
    assert not cal.is_working_day(wednesday)
    assert cal.is_working_day(sunday)
    assert cal.is_working_day(russia_day)
    assert cal.working_days_in_year(2026) == 247 - 1 + 2
    assert cal.add_working_days(date(2026, 4, 14), 1) == date(2026, 4, 16)
    assert cal.add_working_days(date(2026, 4, 17), 1) == sunday
    assert "Тестовое постановление № 1" in cal.describe(sunday)
    assert "Тестовое постановление № 1" in cal.describe(wednesday)
    # Years the file does not mention stay as the library says.
    assert cal.working_days_in_year(2025) == 247


def test_from_dict_accepts_strings_and_dates() -> None:
    cal = ProductionCalendar.from_dict(
        {"years": {"2027": {"days_off": ["2027-03-03"], "working_days": [date(2027, 3, 6)]}}}
    )
    assert not cal.is_working_day(date(2027, 3, 3))
    assert cal.is_working_day(date(2027, 3, 6))
    assert cal.decree(2027) is None


def test_empty_override_file_means_library_only(tmp_path: Path) -> None:
    cal = ProductionCalendar(write(tmp_path, "# nothing yet\n"))
    assert cal.working_days_in_year(2026) == 247


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("years:\n  2026:\n    days_off: [2026-02-30]\n", "2026-02-30"),
        ("years:\n  2026:\n    days_off: [завтра]\n", "завтра"),
        ("years:\n  2026:\n    days_off: [2025-05-05]\n", "2025-05-05"),
        ("years:\n  2026:\n    days_off: 2026-05-05\n", "days_off"),
        ("years:\n  2026:\n    holidays: []\n", "holidays"),
        ("years:\n  двадцать: {}\n", "двадцать"),
        ("years:\n  2026:\n    decree: 5\n", "decree"),
        ("years:\n  2026:\n    days_off: [2026-05-05]\n    working_days: [2026-05-05]\n", "2026-05-05"),
        ("yearz: {}\n", "yearz"),
        ("- 2026-01-01\n", "years"),
        ("years: [2026]\n", "years"),
        ("years:\n  2026: {days_off: [2026-01-01\n", "YAML"),
    ],
)
def test_malformed_override_file_is_reported(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CalendarError) as caught:
        ProductionCalendar(path)
    message = str(caught.value)
    assert str(path) in message
    assert fragment in message


def test_missing_override_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="не найден"):
        ProductionCalendar(tmp_path / "absent.yaml")


def test_from_dict_validates_too() -> None:
    with pytest.raises(CalendarError, match="2026-13-01"):
        ProductionCalendar.from_dict({"years": {2026: {"working_days": ["2026-13-01"]}}})
