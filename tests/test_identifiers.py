"""Identifier checks: known valid and invalid values, each rule of DOMAIN.md, and junk input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.identifiers import (
    check_inn,
    check_ogrn,
    check_ogrnip,
    check_oms,
    check_passport,
    check_passport_unit_code,
    check_phone,
    check_ru_date,
    check_snils,
    make_valid_inn,
    make_valid_ogrn,
    make_valid_ogrnip,
    make_valid_oms,
    make_valid_snils,
    normalize_passport,
    normalize_phone,
    parse_ru_date,
)

ALL_CHECKS = [
    check_snils,
    check_inn,
    check_ogrn,
    check_ogrnip,
    check_oms,
    check_passport,
    check_passport_unit_code,
    check_phone,
    check_ru_date,
]

# -- СНИЛС ----------------------------------------------------------------------------------


def test_real_world_snils() -> None:
    # Printed as 112-233-445 95 on the card; the form stores the digits.
    assert check_snils("11223344595") is None
    assert check_snils("11223344594") == "Неверная контрольная сумма СНИЛС"


def test_snils_with_separators_is_refused_as_the_domain_stores_digits_only() -> None:
    assert check_snils("112-233-445 95") == "СНИЛС должен состоять из 11 цифр без пробелов и дефисов"


@pytest.mark.parametrize(
    ("snils", "why"),
    [
        ("00100199965", "first nine 001001999 (just above the threshold): sum 65 < 100"),
        ("00116829806", "sum 107 → 107 mod 101 = 6"),
        ("00150881500", "sum exactly 100 → 00"),
        ("00143754400", "sum exactly 101 → 00"),
        ("00699668200", "sum 201 → 201 mod 101 = 100 → 00"),
    ],
)
def test_snils_checksum_branches(snils: str, why: str) -> None:
    assert check_snils(snils) is None, why
    wrong = snils[:9] + f"{(int(snils[9:]) + 1) % 100:02d}"
    assert check_snils(wrong) == "Неверная контрольная сумма СНИЛС", why


def test_old_snils_numbers_are_not_checked() -> None:
    assert check_snils("00100199812") is None  # first nine 001001998: issued before the checksum
    assert check_snils("00000000077") is None
    assert check_snils("00100199900") == "Неверная контрольная сумма СНИЛС"


@pytest.mark.parametrize("value", ["1122334459", "112233445951", "1122334459a", "", " 11223344595", None, 11223344595])
def test_snils_wrong_shape(value: object) -> None:
    assert check_snils(value) == "СНИЛС должен состоять из 11 цифр без пробелов и дефисов"


def test_make_valid_snils_matches_hand_computed_values() -> None:
    assert make_valid_snils("112233445") == "11223344595"
    assert make_valid_snils("001508815") == "00150881500"
    with pytest.raises(ValueError):
        make_valid_snils("12345")


# -- ИНН ------------------------------------------------------------------------------------


def test_inn_organization() -> None:
    assert check_inn("7707083893") is None  # ПАО Сбербанк
    assert check_inn("7707083894") == "Неверная контрольная сумма ИНН"
    assert check_inn("7707083893", kind="organization") is None
    assert check_inn("7707083893", kind="person") == "ИНН физического лица должен состоять из 12 цифр"


def test_inn_person_checks_both_control_digits() -> None:
    assert check_inn("500100732259") is None
    assert check_inn("500100732269") == "Неверная контрольная сумма ИНН"  # 11th digit wrong
    assert check_inn("500100732258") == "Неверная контрольная сумма ИНН"  # 12th digit wrong
    assert check_inn("500100732259", kind="person") is None
    assert check_inn("500100732259", kind="organization") == "ИНН организации должен состоять из 10 цифр"


@pytest.mark.parametrize("value", ["77070838", "77070838931", "7707083893123", "77070838 3", None])
def test_inn_wrong_length(value: object) -> None:
    assert check_inn(value) == "ИНН должен состоять из 10 цифр (организация) или 12 цифр (физическое лицо)"


def test_make_valid_inn() -> None:
    assert make_valid_inn("770708389") == "7707083893"
    assert make_valid_inn("5001007322") == "500100732259"
    with pytest.raises(ValueError):
        make_valid_inn("1234")


# -- ОГРН / ОГРНИП --------------------------------------------------------------------------


def test_ogrn() -> None:
    assert check_ogrn("1027700132195") is None  # ПАО Сбербанк
    assert check_ogrn("1027700132194") == "Неверная контрольная сумма ОГРН"
    assert check_ogrn("2027700132195") == "ОГРН должен состоять из 13 цифр и начинаться с 1 или 5"
    assert check_ogrn("102770013219") == "ОГРН должен состоять из 13 цифр и начинаться с 1 или 5"
    assert make_valid_ogrn("102770013219") == "1027700132195"
    assert check_ogrn(make_valid_ogrn("522222222222")) is None


@pytest.mark.parametrize(
    ("ogrnip", "remainder"),
    [
        ("300000000000060", 10),  # 30000000000006 mod 13 = 10 → control 0
        ("300000000000071", 11),  # → control 1
        ("300000000000082", 12),  # → control 2
    ],
)
def test_ogrnip_remainders_ten_to_twelve_use_the_last_digit(ogrnip: str, remainder: int) -> None:
    assert int(ogrnip[:14]) % 13 == remainder
    assert check_ogrnip(ogrnip) is None
    for digit in "0123456789".replace(ogrnip[14], ""):
        assert check_ogrnip(ogrnip[:14] + digit) == "Неверная контрольная сумма ОГРНИП"


def test_ogrnip_shape() -> None:
    assert check_ogrnip("400000000000060") == "ОГРНИП должен состоять из 15 цифр и начинаться с 3"
    assert check_ogrnip("30000000000006") == "ОГРНИП должен состоять из 15 цифр и начинаться с 3"
    assert make_valid_ogrnip("30000000000006") == "300000000000060"


# -- ОМС ------------------------------------------------------------------------------------


def test_oms_luhn() -> None:
    assert check_oms("4111111111111111") is None
    assert check_oms("1234567890123452") is None
    assert check_oms("1234567890123453") == "Неверная контрольная цифра номера полиса ОМС"
    assert check_oms("123456789012345") == "Номер полиса ОМС должен состоять из 16 цифр"
    assert make_valid_oms("123456789012345") == "1234567890123452"


@settings(max_examples=200, deadline=None)
@given(
    payload=st.text(alphabet="0123456789", min_size=15, max_size=15),
    position=st.integers(min_value=0, max_value=15),
    delta=st.integers(min_value=1, max_value=9),
)
def test_oms_any_single_digit_change_is_caught(payload: str, position: int, delta: int) -> None:
    valid = make_valid_oms(payload)
    assert check_oms(valid) is None
    changed = valid[:position] + str((int(valid[position]) + delta) % 10) + valid[position + 1 :]
    assert check_oms(changed) is not None


# -- Паспорт, код подразделения -------------------------------------------------------------


@pytest.mark.parametrize("value", ["4510 123456", "4510123456", "45 10 123456"])
def test_passport_accepted_forms(value: str) -> None:
    assert check_passport(value) is None
    assert normalize_passport(value) == "4510 123456"


@pytest.mark.parametrize("value", ["4510 12345", "451 0123456", "4510-123456", "45AB 123456", " 4510 123456", "", None])
def test_passport_refused(value: object) -> None:
    assert check_passport(value) is not None
    assert normalize_passport(value) is None


def test_passport_unit_code() -> None:
    assert check_passport_unit_code("770-001") is None
    for bad in ("770001", "77-0001", "770-01", "abc-def", None):
        assert check_passport_unit_code(bad) == "Код подразделения должен иметь вид 123-456"


# -- Телефон --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["+79123456789", "+7 (912) 345-67-89", "8 912 345 67 89", "89123456789", "79123456789", "8(912)3456789"]
)
def test_phone_normalized(value: str) -> None:
    assert normalize_phone(value) == "+79123456789"
    assert check_phone(value) is None


@pytest.mark.parametrize(
    "value", ["9123456789", "+8 912 345-67-89", "+7912345678", "+791234567890", "8912345678", "+7 912 abc 67 89", None]
)
def test_phone_refused(value: object) -> None:
    assert normalize_phone(value) is None
    assert check_phone(value) == "Телефон: +7 и 10 цифр (например, +7 912 345-67-89)"


# -- Даты -----------------------------------------------------------------------------------


def test_ru_date() -> None:
    assert check_ru_date("29.02.2024") is None
    assert parse_ru_date("29.02.2024") == date(2024, 2, 29)
    assert check_ru_date("29.02.2025") == "Такой даты не существует"
    assert check_ru_date("31.04.2026") == "Такой даты не существует"
    for bad in ("2025-01-01", "1.1.2025", "01.01.25", "01/01/2025", "", None):
        assert check_ru_date(bad) == "Дата должна быть в формате ДД.ММ.ГГГГ"
        assert parse_ru_date(bad) is None


# -- junk -----------------------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=40),
    st.text(max_size=60),
    st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩²", min_size=10, max_size=16),
    st.lists(st.integers(), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(value=junk)
def test_checks_never_raise(value: object) -> None:
    for check in ALL_CHECKS:
        result = check(value)
        assert result is None or (isinstance(result, str) and result)
    assert normalize_phone(value) is None or normalize_phone(value).startswith("+7")


@pytest.mark.parametrize("check", ALL_CHECKS)
def test_non_ascii_digits_are_refused(check: Callable[[object], str | None]) -> None:
    # str.isdigit() accepts these; the checks must not.
    assert check("٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥") is not None
