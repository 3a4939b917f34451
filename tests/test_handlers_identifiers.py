"""Identifier service tasks: each check names the field it rejects, in Russian."""

from __future__ import annotations

import pytest

from handlers.demo_registry_data import demo_applicant
from handlers.identifiers import (
    check_applicant_identifiers,
    check_inn,
    check_ogrn,
    check_ogrnip,
    check_oms,
    check_passport,
    check_snils,
)
from tests.medflow_harness import handler_call, make_medflow


@pytest.mark.parametrize(
    ("check", "good", "bad", "field", "message"),
    [
        (check_snils, "11223344595", "11223344594", "snils", "Неверная контрольная сумма СНИЛС"),
        (check_inn, "500123456750", "500123456751", "inn", "Неверная контрольная сумма ИНН"),
        (check_ogrn, "1027700132195", "1027700132194", "ogrn", "Неверная контрольная сумма ОГРН"),
        (check_oms, "7700000000000016", "7700000000000017", "oms", "Неверная контрольная цифра"),
        (check_passport, "4510 123456", "45 10 12345", "passport", "серия — 4 цифры"),
    ],
)
def test_single_checks_name_the_field(check, good, bad, field, message) -> None:
    assert check(good) == {"ok": True, "errors": {}}
    result = check(bad)
    assert result["ok"] is False
    assert message in result["errors"][field]


def test_ogrnip_uses_last_digit_of_remainder() -> None:
    # 14 digits whose value mod 13 is 10: the control digit is 0 (python-stdnum says otherwise).
    first14 = next(str(n) for n in range(30000000000000, 30000000000100) if n % 13 == 10)
    assert check_ogrnip(first14 + "0")["ok"] is True
    assert check_ogrnip(first14 + "1")["errors"] == {"ogrnip": "Неверная контрольная сумма ОГРНИП"}


def test_field_name_and_passport_unit_code() -> None:
    assert check_snils("123", field="applicant.snils")["errors"].keys() == {"applicant.snils"}
    result = check_passport("4510 123456", unit_code="770001")
    assert result["errors"] == {"passport_unit_code": "Код подразделения должен иметь вид 123-456"}


@pytest.fixture()
def mf(tmp_path):
    return make_medflow(tmp_path)


def test_valid_applicant_passes(mf) -> None:
    with handler_call(mf) as ctx:
        assert check_applicant_identifiers(demo_applicant(0), ctx=ctx) == {"ok": True, "errors": {}, "minor": False}


def test_every_bad_field_is_reported_at_its_path(mf) -> None:
    applicant = demo_applicant(0) | {
        "snils": "11223344594", "inn": "500123456751", "oms": "1234", "passport_unit_code": "770001",
        "birth_date": "31.02.1990", "phone": "12345", "first_name": "М.", "email": "нет",
    }
    with handler_call(mf) as ctx:
        result = check_applicant_identifiers(applicant, ctx=ctx)
    assert result["ok"] is False
    assert set(result["errors"]) == {
        "applicant.snils", "applicant.inn", "applicant.oms", "applicant.passport_unit_code",
        "applicant.birth_date", "applicant.phone", "applicant.first_name", "applicant.email",
    }
    assert result["errors"]["applicant.first_name"].startswith("Укажите полностью")
    assert result["errors"]["applicant.birth_date"] == "Такой даты не существует"


def test_required_fields_and_future_birth_date(mf) -> None:
    applicant = demo_applicant(0) | {"birth_date": "01.01.2030"}
    del applicant["snils"]
    with handler_call(mf) as ctx:
        errors = check_applicant_identifiers(applicant, ctx=ctx)["errors"]
    assert errors == {"applicant.snils": "Обязательное поле", "applicant.birth_date": "Дата не может быть в будущем"}


def test_passport_issued_before_fourteen_is_suspicious(mf) -> None:
    applicant = demo_applicant(0) | {"passport_issued_on": "01.01.2000"}
    with handler_call(mf) as ctx:
        errors = check_applicant_identifiers(applicant, ctx=ctx)["errors"]
    assert "applicant.passport_issued_on" in errors


def test_minor_needs_a_legal_representative(mf) -> None:
    minor = demo_applicant(2)
    with handler_call(mf) as ctx:
        alone = check_applicant_identifiers(minor, ctx=ctx)
        represented = check_applicant_identifiers(minor, ctx=ctx, filed_by="legal_representative",
                                                  representative=demo_applicant(3))
        no_data = check_applicant_identifiers(minor, ctx=ctx, filed_by="legal_representative")
    assert alone["minor"] is True and "filed_by" in alone["errors"]
    assert represented == {"ok": True, "errors": {}, "minor": True}
    assert no_data["errors"] == {"representative": "Укажите сведения о представителе"}


def test_representative_identifiers_are_checked(mf) -> None:
    representative = demo_applicant(3) | {"snils": "00000000000x"}
    with handler_call(mf) as ctx:
        errors = check_applicant_identifiers(demo_applicant(0), ctx=ctx, filed_by="proxy",
                                             representative=representative)["errors"]
    assert list(errors) == ["representative.snils"]


def test_employment_section_is_checked(mf) -> None:
    with handler_call(mf) as ctx:
        errors = check_applicant_identifiers(demo_applicant(1), ctx=ctx, required=["snils"],
                                             employment={"employer_ogrn": "1027700132194", "start_date": "32.01.2020"})
    assert errors["errors"] == {"employment.employer_ogrn": "Неверная контрольная сумма ОГРН",
                                "employment.start_date": "Такой даты не существует"}
