"""Periodic accreditation rules: 144 hours, no earlier than 12 months before the previous one expires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.accreditation import accreditation_checks
from tests.medflow_harness import handler_call, make_medflow


@pytest.fixture()
def mf(tmp_path):
    return make_medflow(tmp_path, datetime(2026, 4, 23, 9, 0, tzinfo=UTC))


def test_other_kinds_have_no_portfolio_rules(mf) -> None:
    with handler_call(mf) as ctx:
        assert accreditation_checks("primary", ctx=ctx) == {"ok": True, "errors": {}, "blocking": None}


@pytest.mark.parametrize(
    ("valid_until", "hours", "errors", "blocking"),
    [
        ("22.04.2027", 150, {}, None),                       # exactly 12 months before: allowed
        ("24.04.2027", 150, {}, "не ранее чем за 12 месяцев до окончания предыдущей — с 24.04.2026"),
        ("22.04.2026", 150, {}, "предыдущая аккредитация истекла 22.04.2026"),
        ("01.06.2026", 100, {"portfolio.education_hours": "Нужно не меньше 144 часов непрерывного образования, "
                                                          "указано 100"}, None),
        (None, 144, {"previous.valid_until": "Укажите дату окончания предыдущей аккредитации"}, None),
    ],
)
def test_periodic_rules(mf, valid_until, hours, errors, blocking) -> None:
    with handler_call(mf) as ctx:
        result = accreditation_checks("periodic", ctx=ctx, portfolio={"education_hours": hours},
                                      previous={"valid_until": valid_until}, min_hours=144)
    assert result["errors"] == errors
    assert (result["blocking"] or None) == blocking or blocking in (result["blocking"] or "")
    assert result["ok"] is (not errors and blocking is None)
