"""Registry adapters (local implementation), registry match, duplicates, ФРМР, adapter by configuration."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.models import Bundle, Definition, Instance
from handlers.demo_registry_data import DEMO_PEOPLE, demo_applicant
from handlers.registries import (
    LocalPassportRegistry,
    check_duplicate_application,
    frmr_add_documents,
    frmr_lookup,
    frmr_register_worker,
    match_registries,
    passport_registry,
    register_application,
)
from handlers.services import environment
from tests.medflow_harness import another_call, handler_call, make_medflow


@pytest.fixture()
def mf(tmp_path):
    return make_medflow(tmp_path)


def test_demo_person_matches_both_registries(mf) -> None:
    with handler_call(mf) as ctx:
        assert match_registries(demo_applicant(0), ctx=ctx) == {"ok": True, "errors": {}}
        # ё and е are the same letter for the comparison, and case does not matter
        assert match_registries(demo_applicant(0) | {"last_name": "ИВАНОВА"}, ctx=ctx)["ok"] is True


def test_mismatch_and_unknown_documents(mf) -> None:
    with handler_call(mf) as ctx:
        wrong_birth = match_registries(demo_applicant(0) | {"birth_date": "13.03.1990"}, ctx=ctx)
        unknown = match_registries(demo_applicant(0) | {"passport": "4510 999999", "snils": "11122233344"}, ctx=ctx)
        invalid = match_registries(demo_applicant(4), ctx=ctx)
    assert wrong_birth["errors"] == {
        "applicant.passport": "Данные не совпадают с паспортом в реестре МВД: дата рождения",
        "applicant.snils": "Данные не совпадают со сведениями СФР по СНИЛС: дата рождения",
    }
    assert unknown["errors"]["applicant.passport"].startswith("Паспорт не найден")
    assert unknown["errors"]["applicant.snils"] == "СНИЛС не найден в реестре СФР"
    assert invalid["errors"] == {"applicant.passport": "Паспорт недействителен: паспорт утрачен"}


class AlwaysValidPassports(LocalPassportRegistry):
    def find_passport(self, ctx, series_number):  # type: ignore[no-untyped-def]
        return {"valid": True, "last_name": "Тест", "first_name": "Тест", "middle_name": None,
                "birth_date": "2000-01-01"}


def test_real_adapter_slots_in_by_configuration(tmp_path) -> None:
    mf = make_medflow(tmp_path, **{"adapters.passport_registry": f"{__name__}:AlwaysValidPassports"})
    with handler_call(mf) as ctx:
        assert isinstance(passport_registry(environment(ctx)), AlwaysValidPassports)
        result = match_registries({"passport": "0000 000000", "last_name": "Тест", "first_name": "Тест",
                                   "birth_date": "01.01.2000"}, ctx=ctx)
    assert result == {"ok": True, "errors": {}}


def _instance(mf, number: int, status: str = "running") -> int:
    now = datetime.now().astimezone()
    with mf.db.write() as session:
        if session.get(Bundle, "h") is None:
            session.add(Bundle(hash="h", files={}, created_at=now))
            session.add(Definition(id=1, process_key="medbook_issuance", version=1, name="x", bundle_hash="h",
                                   deployed_at=now))
            session.flush()
        row = Instance(business_key=f"МК-2026-{number:06d}", process_key="medbook_issuance", definition_id=1,
                       status=status, state="", created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return row.id


def _register(mf, instance_id: int, applicant: dict) -> None:
    with handler_call(mf, business_key=f"МК-2026-{instance_id:06d}", instance_id=instance_id) as ctx:
        register_application(applicant, ctx=ctx)


def test_duplicate_application_of_same_person(mf) -> None:
    first, second, other = _instance(mf, 1), _instance(mf, 2), _instance(mf, 3)
    _register(mf, first, demo_applicant(0))
    _register(mf, second, demo_applicant(0))
    _register(mf, other, demo_applicant(1))
    snils = DEMO_PEOPLE[0]["snils"]
    with handler_call(mf, business_key="МК-2026-000002", instance_id=second) as ctx:
        result = check_duplicate_application(snils, ctx=ctx)
    assert result["duplicate"] is True and result["other"] == "МК-2026-000001"
    assert result["errors"] == {"applicant.snils": "Заявление МК-2026-000001 по этой услуге уже рассматривается"}
    with mf.db.write() as session:
        session.get(Instance, first).status = "completed"
    with handler_call(mf, business_key="МК-2026-000002", instance_id=second) as ctx:
        assert check_duplicate_application(snils, ctx=ctx)["duplicate"] is False
        assert check_duplicate_application(None, ctx=ctx)["duplicate"] is False


def test_register_application_uses_the_filers_contacts(tmp_path, database_url) -> None:
    # Both databases: registering again is an upsert in each one's SQL dialect.
    mf = make_medflow(tmp_path, **{"database.url": database_url})
    instance_id = _instance(mf, 1)
    with handler_call(mf, instance_id=instance_id) as ctx:
        register_application(demo_applicant(2), ctx=ctx, contact={"email": "mother@example.ru", "phone": "+79160000000"})
        again = register_application(demo_applicant(2), ctx=ctx, contact={"email": "new@example.ru"})
    assert again == {"registered": True, "business_key": "МК-2026-000001"}
    from handlers.service_models import ApplicationRecord

    with mf.db.read() as session:
        rows = session.query(ApplicationRecord).all()
    assert [(r.full_name, r.email, r.phone) for r in rows] == [("Сидоров Никита Андреевич", "new@example.ru", None)]


def test_frmr_lookup_register_and_documents(mf) -> None:
    petrov = DEMO_PEOPLE[1]["snils"]
    with handler_call(mf) as ctx:
        found = frmr_lookup(petrov, ctx=ctx)
        assert found["found"] is True and found["worker"]["speciality"] == "Терапия"
        assert frmr_lookup("11223344595", ctx=ctx) == {"found": False, "worker": None}
        frmr_register_worker({"snils": "11223344595", "full_name": "Иванова Мария Петровна",
                              "birth_date": "12.03.1990", "speciality": "Сестринское дело"}, ctx=ctx)
        frmr_add_documents("11223344595", [{"kind": "diploma", "number": "123"}], ctx=another_call(ctx, "t2"))
        worker = frmr_lookup("11223344595", ctx=ctx)["worker"]
        with pytest.raises(LookupError):
            frmr_add_documents("00000000000", [], ctx=ctx)
    assert worker["documents"] == [{"kind": "diploma", "number": "123"}]
    assert worker["birth_date"] == "1990-03-12"
