"""Server-side validation of form data against the analysts' JSON Schemas (draft 2020-12).

Every failing field is reported, in Russian, at the field it concerns, so the web form can put each
message next to its input and the API can return the same list.

>>> schema = {"type": "object", "required": ["snils"], "properties": {"snils": {"type": "string", "format": "snils"}}}
>>> validate_form(schema, {"snils": "11223344594"})
[FieldError(field='snils', message='Неверная контрольная сумма СНИЛС', code='format')]
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError

from engine import identifiers
from engine.form_messages import custom_message, message_for

log = logging.getLogger(__name__)

# Substrings that make an unknown format name look like a misspelling of one of ours.
_OUR_FORMAT_HINTS = ("snils", "inn", "ogrn", "oms", "passport", "phone", "ru-date", "ru_date", "rudate")

_RU_DATE_REGEX = r"^\d{2}\.\d{2}\.\d{4}$"

# Regexes a browser can run before submit. The checksums are named so the JavaScript mirror can
# pick its implementation; the server remains the authority.
_CLIENT_RULES: dict[str, dict[str, Any]] = {
    "snils": {"pattern": r"^\d{11}$", "checksum": "snils", "checksum_message": "Неверная контрольная сумма СНИЛС"},
    "inn": {"pattern": r"^(\d{10}|\d{12})$", "checksum": "inn", "checksum_message": "Неверная контрольная сумма ИНН"},
    "ogrn": {"pattern": r"^[15]\d{12}$", "checksum": "ogrn", "checksum_message": "Неверная контрольная сумма ОГРН"},
    "ogrnip": {"pattern": r"^3\d{14}$", "checksum": "ogrnip", "checksum_message": "Неверная контрольная сумма ОГРНИП"},
    "oms": {"pattern": r"^\d{16}$", "checksum": "luhn", "checksum_message": "Неверная контрольная цифра номера полиса ОМС"},
    "passport": {"pattern": r"^\d{2} ?\d{2} ?\d{6}$"},
    "passport-unit-code": {"pattern": r"^\d{3}-\d{3}$"},
    "phone-ru": {"pattern": r"^(\+7|7|8)\d{10}$", "strip": r"[\s\-()]"},
    "ru-date": {"pattern": _RU_DATE_REGEX, "calendar_date": True},
    "ru-date-past": {"pattern": _RU_DATE_REGEX, "calendar_date": True, "not_future": True},
}

FORMAT_NAMES: tuple[str, ...] = tuple(_CLIENT_RULES)
FUTURE_DATE_MESSAGE = "Дата не может быть в будущем"


@dataclass(frozen=True)
class FieldError:
    """One problem with one field; ``field`` is a dotted path, "" for the whole form."""

    field: str
    message: str
    code: str


class FormatProblem(ValueError):
    """Carries the identifier check's own message from a format checker to the error list."""


def _identifier_checks() -> dict[str, Callable[[Any], str | None]]:
    return {
        "snils": identifiers.check_snils, "inn": identifiers.check_inn, "ogrn": identifiers.check_ogrn,
        "ogrnip": identifiers.check_ogrnip, "oms": identifiers.check_oms, "passport": identifiers.check_passport,
        "passport-unit-code": identifiers.check_passport_unit_code, "phone-ru": identifiers.check_phone,
        "ru-date": identifiers.check_ru_date,
    }  # fmt: skip


def _format_function(check: Callable[[Any], str | None]) -> Callable[[object], bool]:
    def run(instance: object) -> bool:
        # Formats apply to strings only (the spec); the "type" keyword reports the rest.
        if not isinstance(instance, str):
            return True
        problem = check(instance)
        if problem is not None:
            raise FormatProblem(problem)
        return True

    return run


def _email_check(value: Any) -> str | None:
    # jsonschema only asks for an "@"; people mistype more than that.
    local, at, domain = value.partition("@")
    if not at or not local or "@" in domain or "." not in domain.strip(".") or any(c.isspace() for c in value):
        return "Неверный адрес электронной почты"
    return None


def make_format_checker(today: Callable[[], date] = date.today) -> FormatChecker:
    """Standard formats plus ours; ``today`` lets tests and the simulated clock pin "now"."""
    checker = FormatChecker()
    for name, check in _identifier_checks().items():
        checker.checks(name, raises=FormatProblem)(_format_function(check))

    def past_date(value: Any) -> str | None:
        problem = identifiers.check_ru_date(value)
        if problem is not None:
            return problem
        parsed = identifiers.parse_ru_date(value)
        return FUTURE_DATE_MESSAGE if parsed is not None and parsed > today() else None

    checker.checks("ru-date-past", raises=FormatProblem)(_format_function(past_date))
    for name in ("email", "idn-email"):
        checker.checks(name, raises=FormatProblem)(_format_function(_email_check))
    return checker


def _field_path(parts: Iterable[Any]) -> str:
    return ".".join(str(part) for part in parts)


def _best_branch(error: ValidationError) -> list[ValidationError]:
    """Of the anyOf/oneOf alternatives, the one the person most likely meant.

    A branch that fails on the value's type at the combinator's own level is an alternative the
    person did not choose; among the rest, the one with the fewest problems is the nearest miss.
    """
    depth = len(error.absolute_path)

    def score(branch: list[ValidationError]) -> tuple[int, int]:
        wrong_type = any(e.validator == "type" and len(e.absolute_path) == depth for e in branch)
        return (1 if wrong_type else 0, len(branch))

    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else None, []).append(sub)
    return min(branches.values(), key=score) if branches else []


def _flatten(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield from _flatten(_best_branch(error))
        else:
            yield error


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _translate(error: ValidationError) -> list[FieldError]:
    path = list(error.absolute_path)
    keyword = str(error.validator) if error.validator is not None else "false"
    schema = _as_dict(error.schema)
    instance = error.instance

    def at(*extra: Any) -> str:
        return _field_path([*path, *extra])

    if keyword == "required" and isinstance(instance, dict):
        missing = [p for p in error.validator_value if p not in instance]
        own = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        # The missing property's own schema may word it ("Укажите СНИЛС"); the object's is the fallback.
        texts = [custom_message(_as_dict(own.get(p)), "required") or message_for("required", schema, None) for p in missing]
        return [FieldError(at(p), text, "required") for p, text in zip(missing, texts, strict=True)]
    if keyword == "dependentRequired" and isinstance(instance, dict):
        result = []
        for trigger, needed in error.validator_value.items():
            if trigger not in instance:
                continue
            for p in needed:
                if p not in instance:
                    text = message_for("dependentRequired", schema, trigger)
                    result.append(FieldError(at(p), text, "dependentRequired"))
        return result
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        extras = _unexpected(error, instance, schema)
        if extras:
            return [FieldError(at(p), message_for(keyword, schema, p), keyword) for p in extras]
    if keyword == "format" and isinstance(error.cause, FormatProblem):
        return [FieldError(at(), str(error.cause), "format")]
    return [FieldError(at(), message_for(keyword, schema, error.validator_value), keyword)]


def _unexpected(error: ValidationError, instance: dict[Any, Any], schema: dict[str, Any]) -> list[Any]:
    if error.validator == "additionalProperties":
        known = schema.get("properties") or {}
        patterns = list((schema.get("patternProperties") or {}).keys())

        def matches(name: Any) -> bool:
            return isinstance(name, str) and any(re.search(p, name) for p in patterns)

        return [p for p in instance if p not in known and not matches(p)]
    # unevaluatedProperties gives no structured list; the message quotes each offending key.
    return [p for p in instance if repr(p) in error.message]


def validate_form(
    schema: dict[str, Any] | bool,
    data: Any,
    *,
    today: Callable[[], date] = date.today,
) -> list[FieldError]:
    """All problems with ``data``; an empty list means the form may be accepted.

    Never raises for any data: a form post is untrusted input, and a person must get messages,
    not a server error.
    """
    result: list[FieldError] = []
    seen: set[FieldError] = set()
    try:
        validator = Draft202012Validator(schema, format_checker=make_format_checker(today))
        for error in _flatten(validator.iter_errors(data)):
            for item in _translate(error):
                if item not in seen:
                    seen.add(item)
                    result.append(item)
    except RecursionError:
        return [FieldError("", "Слишком глубокая вложенность данных формы", "depth")]
    except Exception:
        # A broken schema (bad regex, dangling $ref) must not turn into a 500 for the applicant;
        # the linter's check_schema is where analysts learn about it.
        log.exception("form schema could not be applied")
        return [FieldError("", "Форму не удалось проверить: ошибка в описании формы", "schema")]
    return result


def check_schema(schema: Any) -> list[str]:
    """Problems (Russian) that make ``schema`` unusable as a form; empty when it is fine."""
    if not isinstance(schema, dict | bool):
        return ["Схема формы должна быть объектом JSON"]
    problems: list[str] = []
    if isinstance(schema, dict):
        declared, supported = schema.get("$schema"), "https://json-schema.org/draft/2020-12/schema"
        if declared is not None and str(declared).rstrip("#") != supported:
            problems.append(f"$schema: «{declared}» — поддерживается только {supported}")
    meta = Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    try:
        for error in _flatten(meta.iter_errors(schema)):
            for item in _translate(error):
                where = item.field or "корень схемы"
                problems.append(f"«{where}»: {item.message} (нарушение JSON Schema 2020-12)")
    except (RecursionError, SchemaError, ValueError) as exc:
        problems.append(f"Схему формы не удалось проверить: {exc}")
    known = set(FORMAT_NAMES) | set(FormatChecker().checkers)
    for path, name in _formats_in(schema, []):
        if name in known:
            continue
        lowered = name.lower()
        guess = difflib.get_close_matches(lowered, FORMAT_NAMES, n=1, cutoff=0.6)
        if guess or any(hint in lowered for hint in _OUR_FORMAT_HINTS):
            hint = f" — возможно, имелся в виду «{guess[0]}»" if guess else ""
            where = _field_path(path) or "корень схемы"
            problems.append(f"«{where}»: неизвестный формат «{name}»{hint}; известные: {', '.join(FORMAT_NAMES)}")
    return problems


def _formats_in(node: Any, path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """Every ``format`` keyword in the schema with its location (a property may be named "format")."""
    if isinstance(node, dict):
        value = node.get("format")
        if isinstance(value, str):
            yield path, value
        for key, child in node.items():
            if key in ("enum", "const", "examples", "default"):
                continue
            yield from _formats_in(child, [*path, key])
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _formats_in(child, [*path, index])


def client_format_rules() -> dict[str, dict[str, Any]]:
    """JSON-able rules per format for the browser: regex, messages, and which checksum to run."""
    checks = _identifier_checks()
    rules: dict[str, dict[str, Any]] = {}
    for name in FORMAT_NAMES:
        rule = dict(_CLIENT_RULES[name])
        base = "ru-date" if name == "ru-date-past" else name
        # Asking the check about the empty string yields exactly its "wrong shape" message.
        rule["message"] = checks[base]("")
        if rule.get("calendar_date"):
            rule["calendar_date_message"] = "Такой даты не существует"
        if rule.get("not_future"):
            rule["not_future_message"] = FUTURE_DATE_MESSAGE
        rules[name] = rule
    return rules
