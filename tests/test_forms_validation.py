"""Server-side form validation: every failing field, in Russian, at its own path; never a crash."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.forms import FORMAT_NAMES, FieldError, check_schema, client_format_rules, validate_form
from engine.identifiers import make_valid_inn, make_valid_oms, make_valid_snils

MEDBOOK: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["fio", "snils", "birth_date", "passport", "kind", "consent"],
    "additionalProperties": False,
    "properties": {
        "fio": {"type": "string", "minLength": 1, "maxLength": 200},
        "snils": {"type": "string", "format": "snils"},
        "inn": {"type": "string", "format": "inn"},
        "oms": {"type": "string", "format": "oms"},
        "birth_date": {"type": "string", "format": "ru-date-past"},
        "phone": {"type": "string", "format": "phone-ru"},
        "email": {"type": "string", "format": "email"},
        "kind": {"enum": ["regular", "special"], "x-enum-labels": ["Обычная", "Для особых категорий"]},
        "consent": {"const": True},
        "copies": {"type": "integer", "minimum": 1, "maximum": 3, "multipleOf": 1},
        "passport": {
            "type": "object",
            "required": ["series_number", "unit_code"],
            "properties": {
                "series_number": {"type": "string", "format": "passport"},
                "unit_code": {"type": "string", "format": "passport-unit-code"},
                "issued": {"type": "string", "format": "date"},
            },
        },
        "documents": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$",
                                        "x-error-message": "Имя файла без пробелов и спецсимволов"}},
            },
        },
    },
    "dependentRequired": {"phone": ["email"]},
    "if": {"properties": {"kind": {"const": "special"}}, "required": ["kind"]},
    "then": {"required": ["health_certificate"], "properties": {"health_certificate": {"type": "string"}}},
    "else": {"not": {"required": ["health_certificate"]}},
}

TODAY = date(2026, 5, 1)


def good_data() -> dict[str, Any]:
    return {
        "fio": "Иванова Мария Петровна",
        "snils": make_valid_snils("112233445"),
        "inn": make_valid_inn("5001007322"),
        "oms": make_valid_oms("123456789012345"),
        "birth_date": "01.02.1990",
        "phone": "+7 912 345-67-89",
        "email": "maria@example.ru",
        "kind": "regular",
        "consent": True,
        "copies": 1,
        "passport": {"series_number": "4510 123456", "unit_code": "770-001", "issued": "2015-03-04"},
        "documents": [{"name": "passport.pdf"}, {"name": "oms.jpg"}],
    }


def validate(data: Any, schema: dict[str, Any] | None = None) -> dict[str, FieldError]:
    errors = validate_form(MEDBOOK if schema is None else schema, data, today=lambda: TODAY)
    return {e.field: e for e in errors}


def test_good_application_passes() -> None:
    assert validate_form(MEDBOOK, good_data(), today=lambda: TODAY) == []


def test_every_failing_field_is_listed_at_its_path() -> None:
    data = good_data()
    del data["fio"]
    data["snils"] = "11223344594"
    data["passport"] = {"series_number": "45 10 12345"}
    data["documents"] = [{"name": "мой паспорт.pdf"}, {}]
    data["copies"] = 5
    data["extra"] = "?"
    errors = validate(data)
    assert errors["fio"] == FieldError("fio", "Обязательное поле", "required")
    assert errors["snils"] == FieldError("snils", "Неверная контрольная сумма СНИЛС", "format")
    assert errors["passport.series_number"].code == "format"
    assert errors["passport.unit_code"].message == "Обязательное поле"
    assert errors["documents.0.name"].message == "Имя файла без пробелов и спецсимволов"
    assert errors["documents.1.name"].code == "required"
    assert errors["copies"].message == "Значение должно быть не больше 3"
    assert errors["extra"].code == "additionalProperties" and "«extra»" in errors["extra"].message
    assert len(errors) == 8


def test_all_required_fields_of_an_empty_form() -> None:
    errors = validate({})
    assert set(errors) == {"fio", "snils", "birth_date", "passport", "kind", "consent"}
    assert {e.message for e in errors.values()} == {"Обязательное поле"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fio", "", "Поле не может быть пустым"),
        ("fio", "я" * 201, "Не больше 200 символов"),
        ("fio", 42, "Неверный тип значения: ожидается строка"),
        ("kind", "vip", "Выберите одно из значений: Обычная, Для особых категорий"),
        ("consent", False, "Необходимо отметить это поле"),
        ("copies", 0, "Значение должно быть не меньше 1"),
        ("copies", 1.5, "Значение должно быть кратно 1"),
        ("inn", "500100732258", "Неверная контрольная сумма ИНН"),
        ("oms", "1234567890123453", "Неверная контрольная цифра номера полиса ОМС"),
        ("phone", "9123456789", "Телефон: +7 и 10 цифр (например, +7 912 345-67-89)"),
        ("email", "maria@example", "Неверный адрес электронной почты"),
        ("birth_date", "30.02.1990", "Такой даты не существует"),
        ("birth_date", "02.05.2026", "Дата не может быть в будущем"),
        ("birth_date", "1990-02-01", "Дата должна быть в формате ДД.ММ.ГГГГ"),
        ("documents", [], "Нужно не меньше 1 элемента"),
        ("documents", [{"name": "a.pdf"}, {"name": "a.pdf"}], "Элементы списка не должны повторяться"),
    ],
)
def test_messages_per_keyword(field: str, value: Any, message: str) -> None:
    data = good_data()
    data[field] = value
    errors = validate(data)
    assert field in errors, errors
    assert errors[field].message == message


def test_type_error_is_not_doubled_by_copies_multiple_of() -> None:
    data = good_data()
    data["copies"] = "два"
    errors = validate(data)
    assert errors["copies"].message == "Неверный тип значения: ожидается целое число"


def test_ru_date_past_accepts_today() -> None:
    data = good_data()
    data["birth_date"] = "01.05.2026"
    assert validate(data) == {}


def test_standard_date_format_is_checked() -> None:
    data = good_data()
    data["passport"]["issued"] = "2015-02-30"
    assert validate(data)["passport.issued"].message == "Дата должна быть в формате ГГГГ-ММ-ДД"


def test_if_then_else_errors_land_on_their_fields() -> None:
    data = good_data()
    data["kind"] = "special"
    errors = validate(data)
    assert errors["health_certificate"] == FieldError("health_certificate", "Обязательное поле", "required")
    assert "" not in errors


def test_dependent_required_names_the_trigger() -> None:
    data = good_data()
    del data["email"]
    errors = validate(data)
    assert errors["email"] == FieldError(
        "email", "Обязательное поле, если заполнено поле «phone»", "dependentRequired"
    )


def test_any_of_reports_the_nearest_branch_at_the_field() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"anyOf": [{"type": "string", "format": "snils"}, {"type": "null"}]}},
    }
    errors = validate({"id": "11223344594"}, schema)
    assert errors == {"id": FieldError("id", "Неверная контрольная сумма СНИЛС", "format")}
    assert validate({"id": None}, schema) == {}


def test_one_of_and_all_of_report_inner_fields() -> None:
    schema = {
        "type": "object",
        "allOf": [{"required": ["a"]}, {"properties": {"b": {"type": "string", "format": "inn"}}}],
        "properties": {
            "doc": {
                "oneOf": [
                    {"type": "object", "required": ["snils"], "properties": {"snils": {"format": "snils"}}},
                    {"type": "string", "format": "passport"},
                ]
            }
        },
    }
    errors = validate({"b": "123", "doc": {"snils": "11223344594"}}, schema)
    assert set(errors) == {"a", "b", "doc.snils"}
    assert errors["doc.snils"].message == "Неверная контрольная сумма СНИЛС"
    assert errors["b"].code == "format"


def test_custom_required_message_from_the_property_schema() -> None:
    schema = {
        "type": "object",
        "required": ["snils"],
        "properties": {"snils": {"type": "string", "x-error-message": {"required": "Укажите СНИЛС"}}},
    }
    assert validate({}, schema)["snils"].message == "Укажите СНИЛС"


@pytest.mark.parametrize("data", [None, [], "строка", 42, 3.14, True])
def test_non_object_root_is_one_root_error(data: Any) -> None:
    errors = validate_form(MEDBOOK, data, today=lambda: TODAY)
    assert errors == [FieldError("", "Неверный тип значения: ожидается объект", "type")]


def test_broken_schema_gives_a_message_not_an_exception() -> None:
    errors = validate_form({"type": "string", "pattern": "("}, "x")
    assert len(errors) == 1 and errors[0].field == "" and errors[0].code == "schema"


def test_deep_nesting_does_not_crash() -> None:
    schema = {"$defs": {"node": {"type": "object", "properties": {"n": {"$ref": "#/$defs/node"}}}},
              "$ref": "#/$defs/node"}
    data: Any = {"n": 1}
    for _ in range(3000):
        data = {"n": data}
    errors = validate_form(schema, data)
    assert errors and all(isinstance(e, FieldError) for e in errors)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.text(alphabet="0123456789 -+()./", max_size=20),
    st.sampled_from(["11223344595", "4510 123456", "770-001", "+79123456789", "31.12.2999", "x" * 20000]),
)
junk = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(
            st.one_of(st.sampled_from(list(MEDBOOK["properties"]) + ["passport", "name"]), st.text(max_size=10)),
            children,
            max_size=8,
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=junk)
def test_junk_never_raises(data: Any) -> None:
    errors = validate_form(MEDBOOK, data, today=lambda: TODAY)
    assert isinstance(errors, list)
    for error in errors:
        assert isinstance(error, FieldError)
        assert error.message and re.search("[А-Яа-яЁё]", error.message)
        assert error.code not in ("schema", "depth")


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["fio", "snils", "passport"]), junk, max_size=3))
def test_junk_in_known_fields_is_reported_at_those_fields(data: dict[str, Any]) -> None:
    for error in validate_form(MEDBOOK, data, today=lambda: TODAY):
        top = error.field.split(".")[0]
        assert top in MEDBOOK["required"] or top in data, error


# -- check_schema and the browser rules -----------------------------------------------------


def test_check_schema_accepts_the_medbook_schema() -> None:
    assert check_schema(MEDBOOK) == []


def test_check_schema_reports_problems() -> None:
    problems = check_schema(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "objekt",
            "properties": {"s": {"format": "snlis"}, "p": {"type": "string", "pattern": "("}, "h": {"format": "hostname"}},
        }
    )
    text = "\n".join(problems)
    assert "draft-07" in text
    assert "type" in text
    assert "«snlis»" in text and "«snils»" in text
    assert "properties.p.pattern" in text
    assert "hostname" not in text  # a standard format is not ours to complain about
    assert len(problems) == 4


@pytest.mark.parametrize("schema", [[], "schema", 5, None])
def test_check_schema_non_object(schema: Any) -> None:
    assert check_schema(schema) == ["Схема формы должна быть объектом JSON"]


def test_client_rules_cover_every_format_and_are_json() -> None:
    rules = client_format_rules()
    assert set(rules) == set(FORMAT_NAMES)
    json.dumps(rules, ensure_ascii=False)
    for name, rule in rules.items():
        assert re.search("[А-Яа-я]", rule["message"]), name
        re.compile(rule["pattern"])
    assert rules["snils"]["checksum_message"] == "Неверная контрольная сумма СНИЛС"
    assert rules["ru-date-past"]["not_future_message"] == "Дата не может быть в будущем"


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("snils", "11223344595", "1122334459"),
        ("inn", "7707083893", "77070838"),
        ("ogrn", "1027700132195", "2027700132195"),
        ("ogrnip", "300000000000060", "400000000000060"),
        ("oms", "1234567890123452", "123456789012345"),
        ("passport", "4510 123456", "4510-123456"),
        ("passport-unit-code", "770-001", "770001"),
        ("ru-date", "01.01.2025", "2025-01-01"),
        ("ru-date-past", "01.01.2025", "1.1.2025"),
    ],
)
def test_client_regexes_agree_with_the_server_on_shape(fmt: str, good: str, bad: str) -> None:
    pattern = re.compile(client_format_rules()[fmt]["pattern"])
    assert pattern.search(good) and not pattern.search(bad)
    schema = {"type": "string", "format": fmt}
    assert validate_form(schema, good) == []
    assert validate_form(schema, bad)[0].message == client_format_rules()[fmt]["message"]


def test_client_phone_rule_strips_separators_first() -> None:
    rule = client_format_rules()["phone-ru"]
    stripped = re.sub(rule["strip"], "", "8 (912) 345-67-89")
    assert re.search(rule["pattern"], stripped)
