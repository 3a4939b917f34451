"""Demo records for the local registries: a handful of consistent people for demos and scenarios.

Scenario files use these people; their identifiers are computed with the generators of
``engine.identifiers`` so that every checksum is right.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.identifiers import make_valid_inn, make_valid_ogrn, make_valid_oms, make_valid_snils
from handlers.registry_models import FrmrWorker, PassportRecord, SnilsRecord

CLINIC_OGRN = make_valid_ogrn("102770013219")
CLINIC_NAME = "ГБУЗ «Городская поликлиника № 1»"

DEMO_PEOPLE: list[dict[str, Any]] = [
    {"last_name": "Иванова", "first_name": "Мария", "middle_name": "Петровна", "gender": "Ж",
     "birth_date": date(1990, 3, 12), "snils": make_valid_snils("112233445"),
     "inn": make_valid_inn("5001234567"), "oms": make_valid_oms("770000000000001"),
     "passport": "4510 123456", "passport_issued_on": date(2010, 4, 20), "passport_unit_code": "770-001",
     "passport_issued_by": "ОВД района Хамовники г. Москвы"},
    {"last_name": "Петров", "first_name": "Алексей", "middle_name": "Сергеевич", "gender": "М",
     "birth_date": date(1985, 11, 5), "snils": make_valid_snils("123456789"),
     "inn": make_valid_inn("7701234567"), "oms": make_valid_oms("770000000000002"),
     "passport": "4509 654321", "passport_issued_on": date(2005, 12, 1), "passport_unit_code": "770-002",
     "passport_issued_by": "ОВД района Арбат г. Москвы",
     "frmr": {"speciality": "Терапия", "position": "Врач-терапевт участковый",
              "employer_ogrn": CLINIC_OGRN, "employer_name": CLINIC_NAME}},
    {"last_name": "Сидоров", "first_name": "Никита", "middle_name": "Андреевич", "gender": "М",
     "birth_date": date(2010, 6, 10), "snils": make_valid_snils("234567891"),
     "oms": make_valid_oms("770000000000003"),
     "passport": "4524 111222", "passport_issued_on": date(2024, 6, 20), "passport_unit_code": "770-003",
     "passport_issued_by": "ГУ МВД России по г. Москве"},
    {"last_name": "Сидорова", "first_name": "Ольга", "middle_name": "Викторовна", "gender": "Ж",
     "birth_date": date(1984, 2, 28), "snils": make_valid_snils("345678912"),
     "inn": make_valid_inn("7702345678"), "oms": make_valid_oms("770000000000004"),
     "passport": "4504 333444", "passport_issued_on": date(2004, 3, 15), "passport_unit_code": "770-003",
     "passport_issued_by": "ОВД района Тверской г. Москвы"},
    {"last_name": "Кузнецов", "first_name": "Иван", "middle_name": "Олегович", "gender": "М",
     "birth_date": date(1979, 9, 1), "snils": make_valid_snils("456789123"),
     "oms": make_valid_oms("770000000000005"),
     "passport": "4599 555666", "passport_issued_on": date(1999, 9, 15), "passport_unit_code": "770-004",
     "passport_issued_by": "ОВД района Якиманка г. Москвы", "passport_invalid": "паспорт утрачен"},
]


def seed_demo_registries(session: Session) -> int:
    """Insert the demo people unless they are there already; returns how many were added."""
    added = 0
    for person in DEMO_PEOPLE:
        if session.get(SnilsRecord, person["snils"]) is not None:
            continue
        names = {k: person[k] for k in ("last_name", "first_name", "middle_name")}
        session.add(SnilsRecord(snils=person["snils"], birth_date=person["birth_date"], gender=person["gender"], **names))
        session.add(PassportRecord(
            series_number=person["passport"], birth_date=person["birth_date"], issued_on=person["passport_issued_on"],
            issued_by=person["passport_issued_by"], unit_code=person["passport_unit_code"],
            valid="passport_invalid" not in person, invalid_reason=person.get("passport_invalid"), **names,
        ))
        if "frmr" in person:
            full_name = " ".join(names.values())
            session.add(FrmrWorker(snils=person["snils"], full_name=full_name, birth_date=person["birth_date"],
                                   documents=[], status="active", **person["frmr"]))
        added += 1
    session.flush()
    return added


def demo_applicant(index: int = 0) -> dict[str, Any]:
    """A demo person as an application form carries them (dates as ДД.ММ.ГГГГ)."""
    person = DEMO_PEOPLE[index]
    keys = ("last_name", "first_name", "middle_name", "gender", "snils", "inn", "oms", "passport",
            "passport_unit_code", "passport_issued_by")
    result = {k: person[k] for k in keys if k in person}
    result["birth_date"] = person["birth_date"].strftime("%d.%m.%Y")
    result["passport_issued_on"] = person["passport_issued_on"].strftime("%d.%m.%Y")
    return result
