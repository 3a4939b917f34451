"""Service tasks that re-check identifiers on the server (the browser checked them first).

Every handler returns ``{"ok": bool, "errors": {field: message}}``: a diagram branches on ``ok``
and hands ``errors`` to the refusal notice, so the applicant reads which field is wrong and why.
Field names are dotted paths into the application (``applicant.snils``), as in the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from engine import identifiers as ids
from engine.handler_registry import CallContext, handler

Check = Callable[[Any], str | None]

_VALUE = {"type": "object", "properties": {"value": {}, "field": {"type": "string"}}, "required": ["value"]}
# Letters of either alphabet, with the hyphen, apostrophe and space of double names.
_NAME = re.compile(r"[A-Za-zА-Яа-яЁё]+(?:[ '\-][A-Za-zА-Яа-яЁё]+)*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ADULT_AGE = 18
PASSPORT_AGE = 14


def _result(errors: dict[str, str]) -> dict[str, Any]:
    return {"ok": not errors, "errors": errors}


def _single(check: Check, value: Any, field: str) -> dict[str, Any]:
    problem = check(value)
    return _result({field: problem} if problem else {})


@handler("check_snils", params=_VALUE)
def check_snils(value: Any, field: str = "snils") -> dict[str, Any]:
    """СНИЛС: 11 digits and the control number."""
    return _single(ids.check_snils, value, field)


@handler("check_inn", params=_VALUE)
def check_inn(value: Any, field: str = "inn", kind: str = "any") -> dict[str, Any]:
    """ИНН: 10 digits (organization) or 12 (person) with their control digits."""
    return _single(lambda v: ids.check_inn(v, kind), value, field)  # type: ignore[arg-type]


@handler("check_ogrn", params=_VALUE)
def check_ogrn(value: Any, field: str = "ogrn") -> dict[str, Any]:
    """ОГРН: 13 digits starting with 1 or 5."""
    return _single(ids.check_ogrn, value, field)


@handler("check_ogrnip", params=_VALUE)
def check_ogrnip(value: Any, field: str = "ogrnip") -> dict[str, Any]:
    """ОГРНИП: 15 digits starting with 3 (remainders 10–12 give their last digit)."""
    return _single(ids.check_ogrnip, value, field)


@handler("check_oms", params=_VALUE)
def check_oms(value: Any, field: str = "oms") -> dict[str, Any]:
    """Полис ОМС единого образца: 16 digits, Luhn."""
    return _single(ids.check_oms, value, field)


@handler("check_passport", params=_VALUE)
def check_passport(value: Any, field: str = "passport", unit_code: Any = None) -> dict[str, Any]:
    """Паспорт РФ: series and number; the unit code too when given."""
    errors = {}
    problem = ids.check_passport(value)
    if problem:
        errors[field] = problem
    if unit_code is not None:
        unit_problem = ids.check_passport_unit_code(unit_code)
        if unit_problem:
            errors[f"{field}_unit_code"] = unit_problem
    return _result(errors)


def _check_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "Укажите полностью, без сокращений"
    if "." in value or len(value.strip()) < 2:
        return "Укажите полностью, без сокращений и инициалов"
    if _NAME.fullmatch(value.strip()) is None:
        return "Допускаются только буквы, дефис, апостроф и пробел"
    return None


def _past_date(today: date) -> Check:
    def check(value: Any) -> str | None:
        problem = ids.check_ru_date(value)
        if problem:
            return problem
        parsed = ids.parse_ru_date(value)
        return "Дата не может быть в будущем" if parsed and parsed > today else None

    return check


def _email(value: Any) -> str | None:
    return None if isinstance(value, str) and _EMAIL.fullmatch(value) else "Неверный адрес электронной почты"


def field_checks(today: date) -> dict[str, Check]:
    """Checks by field name; the same names are used in every application form."""
    past = _past_date(today)
    return {
        "last_name": _check_name, "first_name": _check_name, "middle_name": _check_name,
        "snils": ids.check_snils, "inn": lambda v: ids.check_inn(v, "person"),
        "oms": ids.check_oms, "passport": ids.check_passport,
        "passport_unit_code": ids.check_passport_unit_code,
        "passport_issued_on": past, "birth_date": past, "phone": ids.check_phone, "email": _email,
        "employer_ogrn": ids.check_ogrn, "ogrn": ids.check_ogrn, "ogrnip": ids.check_ogrnip,
        "employer_inn": lambda v: ids.check_inn(v, "organization"), "start_date": ids.check_ru_date,
    }  # fmt: skip


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def check_person(
    person: dict[str, Any], prefix: str, today: date, required: list[str] | None = None
) -> dict[str, str]:
    """Errors of one person's fields (``prefix`` names the section in the form)."""
    errors: dict[str, str] = {}
    checks = field_checks(today)
    for name in required or []:
        if person.get(name) in (None, ""):
            errors[f"{prefix}.{name}"] = "Обязательное поле"
    for name, value in person.items():
        check = checks.get(name)
        # An optional field left empty is not an error; "required" above covers the mandatory ones.
        if check is None or value in (None, "") or f"{prefix}.{name}" in errors:
            continue
        problem = check(value)
        if problem:
            errors[f"{prefix}.{name}"] = problem
    birth = ids.parse_ru_date(person.get("birth_date"))
    issued = ids.parse_ru_date(person.get("passport_issued_on"))
    derived_ok = f"{prefix}.passport_issued_on" not in errors and f"{prefix}.birth_date" not in errors
    if birth and issued and derived_ok and age_on(birth, issued) < PASSPORT_AGE:
        errors[f"{prefix}.passport_issued_on"] = "Паспорт выдаётся не ранее 14 лет: проверьте дату выдачи"
    return errors


_APPLICANT_PARAMS = {
    "type": "object",
    "required": ["applicant"],
    "properties": {
        "applicant": {"type": "object"},
        "representative": {"type": ["object", "null"]},
        "filed_by": {"type": ["string", "null"]},
        "employment": {"type": ["object", "null"]},
        "required": {"type": "array", "items": {"type": "string"}},
    },
}
DEFAULT_REQUIRED = ["last_name", "first_name", "gender", "birth_date", "snils"]


@handler("check_applicant_identifiers", params=_APPLICANT_PARAMS)
def check_applicant_identifiers(
    applicant: dict[str, Any],
    ctx: CallContext,
    representative: dict[str, Any] | None = None,
    filed_by: str | None = "self",
    required: list[str] | None = None,
    employment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """All identifiers of an application; a minor must apply through a legal representative."""
    today = ctx.now.date()
    errors = check_person(applicant, "applicant", today, required or DEFAULT_REQUIRED)
    if employment:
        errors.update(check_person(employment, "employment", today, ["employer_ogrn"]))
    birth = ids.parse_ru_date(applicant.get("birth_date"))
    minor = bool(birth) and "applicant.birth_date" not in errors and age_on(birth, today) < ADULT_AGE
    if minor and (filed_by or "self") == "self":
        errors["filed_by"] = "За несовершеннолетнего заявление подаёт законный представитель"
    if (filed_by or "self") != "self":
        if not representative:
            errors["representative"] = "Укажите сведения о представителе"
        else:
            errors.update(check_person(representative, "representative", today,
                                       ["last_name", "first_name", "passport"]))
    return {**_result(errors), "minor": minor}
