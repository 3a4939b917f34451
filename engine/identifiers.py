"""Checks for Russian identifiers: each returns None when valid, or a Russian message for the person.

The same checks run in the browser (mirrored in JavaScript) and on the server, so the messages
here are what an applicant reads next to the field.

>>> check_snils("11223344595") is None
True
>>> check_snils("11223344594")
'Неверная контрольная сумма СНИЛС'
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

_DIGITS = re.compile(r"\d+", re.ASCII)
_PASSPORT = re.compile(r"(\d{2}) ?(\d{2}) ?(\d{6})", re.ASCII)
_UNIT_CODE = re.compile(r"\d{3}-\d{3}", re.ASCII)
_RU_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})", re.ASCII)
# Separators people type inside phone numbers; anything else is a typo worth reporting.
_PHONE_NOISE = re.compile(r"[\s\-()]")

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
# СНИЛС numbers up to this one were issued before the checksum existed.
_SNILS_UNCHECKED_MAX = 1001998

InnKind = Literal["any", "person", "organization"]


def _is_digits(value: Any, length: int) -> bool:
    # re.ASCII matters: str.isdigit() accepts "²" and Arabic-Indic digits that int() may reject.
    return isinstance(value, str) and len(value) == length and _DIGITS.fullmatch(value) is not None


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def _require_digits(digits: str, length: int, what: str) -> None:
    """Generators are for tests and demo data: a wrong prefix is a programming error."""
    if not _is_digits(digits, length):
        raise ValueError(f"{what}: ожидается {length} цифр, получено {digits!r}")


# -- СНИЛС -----------------------------------------------------------------------------------


def snils_control(first9: str) -> str:
    """The two control digits for the first nine digits of a СНИЛС."""
    if int(first9) <= _SNILS_UNCHECKED_MAX:
        return "00"
    s = _weighted(first9, (9, 8, 7, 6, 5, 4, 3, 2, 1))
    if s < 100:
        return f"{s:02d}"
    if s in (100, 101):
        return "00"
    return f"{s % 101 % 100:02d}"


def check_snils(value: Any) -> str | None:
    if not _is_digits(value, 11):
        return "СНИЛС должен состоять из 11 цифр без пробелов и дефисов"
    if int(value[:9]) <= _SNILS_UNCHECKED_MAX:
        return None
    if snils_control(value[:9]) != value[9:]:
        return "Неверная контрольная сумма СНИЛС"
    return None


def make_valid_snils(first9: str) -> str:
    _require_digits(first9, 9, "СНИЛС")
    return first9 + snils_control(first9)


# -- ИНН -------------------------------------------------------------------------------------


def _inn_digit(digits: str, weights: tuple[int, ...]) -> str:
    return str(_weighted(digits, weights) % 11 % 10)


def check_inn(value: Any, kind: InnKind = "any") -> str | None:
    """ИНН: 10 digits for an organization, 12 for a person."""
    lengths = {"any": (10, 12), "person": (12,), "organization": (10,)}[kind]
    if not any(_is_digits(value, length) for length in lengths):
        return {
            "any": "ИНН должен состоять из 10 цифр (организация) или 12 цифр (физическое лицо)",
            "person": "ИНН физического лица должен состоять из 12 цифр",
            "organization": "ИНН организации должен состоять из 10 цифр",
        }[kind]
    if len(value) == 10:
        valid = _inn_digit(value[:9], _INN10_WEIGHTS) == value[9]
    else:
        valid = (
            _inn_digit(value[:10], _INN11_WEIGHTS) == value[10]
            and _inn_digit(value[:11], _INN12_WEIGHTS) == value[11]
        )
    return None if valid else "Неверная контрольная сумма ИНН"


def make_valid_inn(prefix: str) -> str:
    """9 digits give an organization's ИНН (10 digits), 10 digits a person's (12 digits)."""
    if _is_digits(prefix, 9):
        return prefix + _inn_digit(prefix, _INN10_WEIGHTS)
    _require_digits(prefix, 10, "ИНН")
    eleven = prefix + _inn_digit(prefix, _INN11_WEIGHTS)
    return eleven + _inn_digit(eleven, _INN12_WEIGHTS)


# -- ОГРН / ОГРНИП ---------------------------------------------------------------------------


def check_ogrn(value: Any) -> str | None:
    # One shape message for length and prefix, so the browser's single regex can show the same text.
    if not _is_digits(value, 13) or value[0] not in "15":
        return "ОГРН должен состоять из 13 цифр и начинаться с 1 или 5"
    if int(value[:12]) % 11 % 10 != int(value[12]):
        return "Неверная контрольная сумма ОГРН"
    return None


def make_valid_ogrn(first12: str) -> str:
    _require_digits(first12, 12, "ОГРН")
    return first12 + str(int(first12) % 11 % 10)


def check_ogrnip(value: Any) -> str | None:
    if not _is_digits(value, 15) or value[0] != "3":
        return "ОГРНИП должен состоять из 15 цифр и начинаться с 3"
    # The last digit of the remainder: remainders 10..12 give 0..2, not 0 (python-stdnum's bug).
    if int(value[:14]) % 13 % 10 != int(value[14]):
        return "Неверная контрольная сумма ОГРНИП"
    return None


def make_valid_ogrnip(first14: str) -> str:
    _require_digits(first14, 14, "ОГРНИП")
    return first14 + str(int(first14) % 13 % 10)


# -- Полис ОМС (ЕНП) -------------------------------------------------------------------------


def luhn_digit(payload: str) -> str:
    """The Luhn check digit to append to ``payload``."""
    total = 0
    # Counting from the right of the payload, every first, third, … digit is doubled,
    # because the check digit will take the rightmost position.
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def check_oms(value: Any) -> str | None:
    if not _is_digits(value, 16):
        return "Номер полиса ОМС должен состоять из 16 цифр"
    if luhn_digit(value[:15]) != value[15]:
        return "Неверная контрольная цифра номера полиса ОМС"
    return None


def make_valid_oms(first15: str) -> str:
    _require_digits(first15, 15, "Полис ОМС")
    return first15 + luhn_digit(first15)


# -- Паспорт ---------------------------------------------------------------------------------


def normalize_passport(value: Any) -> str | None:
    """Series and number as "4510 123456"; accepts "4510123456" and "45 10 123456"; junk gives None."""
    if not isinstance(value, str):
        return None
    match = _PASSPORT.fullmatch(value)
    if match is None:
        return None
    return f"{match[1]}{match[2]} {match[3]}"


def check_passport(value: Any) -> str | None:
    if normalize_passport(value) is None:
        return "Паспорт: серия — 4 цифры, номер — 6 цифр (например, 4510 123456)"
    return None


def check_passport_unit_code(value: Any) -> str | None:
    if not isinstance(value, str) or _UNIT_CODE.fullmatch(value) is None:
        return "Код подразделения должен иметь вид 123-456"
    return None


# -- Телефон ---------------------------------------------------------------------------------


def normalize_phone(value: Any) -> str | None:
    """The stored form "+79123456789" of e.g. "8 (912) 345-67-89"; None for anything else."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    compact = _PHONE_NOISE.sub("", value)
    if compact.startswith("+7"):
        rest = compact[2:]
    elif len(compact) == 11 and compact[:1] in ("7", "8"):
        rest = compact[1:]
    else:
        return None
    return "+7" + rest if _is_digits(rest, 10) else None


def check_phone(value: Any) -> str | None:
    if normalize_phone(value) is None:
        return "Телефон: +7 и 10 цифр (например, +7 912 345-67-89)"
    return None


# -- Даты ------------------------------------------------------------------------------------


def parse_ru_date(value: Any) -> date | None:
    """ДД.ММ.ГГГГ → date; None when the text is not a real calendar date."""
    if not isinstance(value, str):
        return None
    match = _RU_DATE.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None


def check_ru_date(value: Any) -> str | None:
    if not isinstance(value, str) or _RU_DATE.fullmatch(value) is None:
        return "Дата должна быть в формате ДД.ММ.ГГГГ"
    if parse_ru_date(value) is None:
        return "Такой даты не существует"
    return None
