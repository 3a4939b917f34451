"""medbook_issuance + refusal_and_resubmit, driven through the engine: every path of the diagram."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.errors import ValidationFailed
from handlers.demo_registry_data import DEMO_PEOPLE, demo_applicant
from handlers.scenarios.session import ScenarioSession
from tests.medflow_harness import deploy_processes, make_medflow

START = datetime(2026, 4, 23, 9, 0, tzinfo=UTC)  # Thursday 12:00 Moscow, a week before the May holidays
CONTACTS = {"phone": "+79161234567", "email": "ivanova@example.ru"}


@pytest.fixture()
def s(tmp_path) -> ScenarioSession:
    mf = make_medflow(tmp_path, START)
    deploy_processes(mf)
    session = ScenarioSession(mf)
    session.upload("passport", "passport.pdf", "pdf")
    session.upload("oms", "oms_scan.jpg", "jpeg", dpi=300)
    return session


def application(**changes) -> dict:
    data = {"filed_by": "self", "applicant": {"$demo_applicant": 0, **CONTACTS},
            "medbook": {"type": "regular", "work_category": "medical"},
            "documents": {"passport_scan": "$doc:passport", "oms_scan": "$doc:oms"},
            "consent_personal_data": True}
    data.update(changes)
    return data


def apply(s: ScenarioSession, data: dict, user: str = "ivanova", name: str = "main") -> str:
    key = s.start("medbook_issuance", user, name=name)
    s.complete("submit_application", user, data)
    return key


def kinds(s: ScenarioSession) -> list[str]:
    return [n.kind for n in s.notifications() if n.channel == "email"]


def test_happy_path_issues_the_medbook(s) -> None:
    key = s.start("medbook_issuance", "ivanova")
    assert key == "МК-2026-000001" and s.instance()["portal_status"] == "Черновик заявления"
    s.complete("submit_application", "ivanova", application())
    inst = s.instance()
    assert inst["portal_status"] == "Заявление принято к рассмотрению"
    review = s.open_task("review")
    assert review["candidate_group"] == "medbook_operators"
    assert s.due_day(review["due_at"]) == "2026-05-08"  # 10 working days: May 1 is a holiday
    s.complete("review", "operator1", {"decision": "approve"})
    inst = s.instance()
    assert (inst["status"], inst["portal_status"]) == ("completed", "Услуга оказана")
    assert inst["data"]["medbook_issued"]["number"] == "ЭМК-2026-000001"
    assert kinds(s) == ["status", "issued"]
    assert s.deliver_notifications() == 4
    sent = s.channels["email"].sent
    assert sent[1]["subject"] == "Электронная медкнижка № ЭМК-2026-000001 оформлена"
    assert "/verify/" in sent[1]["body"] and "24 часов" in sent[1]["body"]


def test_form_rejects_invalid_identifiers_naming_the_field(s) -> None:
    s.start("medbook_issuance", "ivanova")
    bad = application(applicant={"$demo_applicant": 0, "snils": "11223344594", "passport_unit_code": "770001"})
    with pytest.raises(ValidationFailed) as caught:
        s.complete("submit_application", "ivanova", bad)
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert fields == {"applicant.snils": "Неверная контрольная сумма СНИЛС",
                      "applicant.passport_unit_code": "Код подразделения должен иметь вид 123-456"}


def test_printed_copy_waits_for_payment(s) -> None:
    apply(s, application(medbook={"type": "regular", "work_category": "medical", "printed_copy": True,
                                  "print_format": "A4"}))
    s.complete("review", "operator1", {"decision": "approve"})
    inst = s.instance()
    assert inst["waiting_for_messages"] == ["payment_confirmed"]
    assert inst["data"]["payment_order"]["amount"] == 500
    s.send("payment_confirmed")  # the gateway has not confirmed it: back to waiting
    assert s.instance()["waiting_for_messages"] == ["payment_confirmed"]
    from handlers.payments import confirm_local_payment

    with s.medflow.db.write() as session:
        confirm_local_payment(session, inst["data"]["payment_order"]["order_id"])
    s.send("payment_confirmed")
    s.complete("print_copy", "operator1", {"printed": True, "pickup_point": "МФЦ Хамовники"})
    assert s.instance()["status"] == "completed"


def test_unpaid_copy_closes_after_ten_working_days(s) -> None:
    apply(s, application(medbook={"type": "regular", "work_category": "medical", "printed_copy": True,
                                  "print_format": "A6"}))
    s.complete("review", "operator1", {"decision": "approve"})
    s.advance("11 working days")
    s.run_timers()
    assert (s.instance()["status"], s.instance()["portal_status"]) == ("completed", "Услуга оказана")


def test_wrong_file_type_is_refused_and_fixed_in_time(s) -> None:
    s.upload("fake", "passport.pdf", "text")
    apply(s, application(documents={"passport_scan": "$doc:fake", "oms_scan": "$doc:oms"}))
    inst = s.instance()
    assert inst["portal_status"] == "Заявление требует исправления"
    notice = inst["data"]["refusal_notice"]
    assert list(notice["items"]) == ["documents.passport_scan"]
    assert "Недопустимый тип файла" in notice["items"]["documents.passport_scan"]
    assert notice["deadline"] == "30.04.2026"  # 5 working days from Thursday 23.04
    assert kinds(s) == ["refusal_documents"]  # the detailed notice replaces the plain status notice
    s.advance("4 working days")
    s.run_timers()
    s.upload("good", "passport_new.pdf", "pdf")
    s.send("resubmission", {"corrections": {"documents": {"passport_scan": "$doc:good"}}})
    assert s.instance()["portal_status"] == "Заявление принято к рассмотрению"
    s.complete("review", "operator1", {"decision": "approve"})
    assert s.instance()["status"] == "completed"


def test_deadline_passed_closes_as_refused(s) -> None:
    s.upload("fake", "passport.pdf", "text")
    apply(s, application(documents={"passport_scan": "$doc:fake", "oms_scan": "$doc:oms"}))
    s.advance("5 working days")
    s.run_timers()
    assert s.instance()["status"] == "running"  # the 5th working day is not over yet
    s.advance("1 working day")
    s.run_timers()
    inst = s.instance()
    assert (inst["status"], inst["portal_status"]) == ("completed", "Отказано в предоставлении услуги")
    assert kinds(s)[-1] == "resubmission_expired"


def test_second_refusal_opens_support_ticket(s) -> None:
    s.upload("fake", "passport.pdf", "text")
    apply(s, application(documents={"passport_scan": "$doc:fake", "oms_scan": "$doc:oms"}))
    assert s.tickets() == []
    s.upload("fake2", "passport2.pdf", "text")
    s.send("resubmission", {"corrections": {"documents": {"passport_scan": "$doc:fake2"}}})
    inst = s.instance()
    assert inst["portal_status"] == "Заявление требует исправления"
    assert inst["data"]["refusal_count"] == 1 and [t.reason for t in s.tickets()] == ["repeated_refusal"]


def test_operator_refuses_the_service(s) -> None:
    apply(s, application())
    s.complete("review", "operator1", {"decision": "refuse", "reason": "Медицинское заключение о противопоказаниях"})
    inst = s.instance()
    assert (inst["status"], inst["portal_status"]) == ("completed", "Отказано в предоставлении услуги")
    assert kinds(s) == ["status", "refusal_service"]


def test_operator_correction_then_registry_mismatch_is_reported(s) -> None:
    apply(s, application())
    s.complete("review", "operator1", {"decision": "request_correction", "items": ["documents.oms_scan"],
                                       "reason": "Скан полиса нечитаем"})
    assert s.instance()["data"]["refusal_notice"]["item_list"] == ["Скан полиса ОМС"]
    s.upload("oms2", "oms2.png", "png")
    s.send("resubmission", {"corrections": {"documents": {"oms_scan": "$doc:oms2"}}})
    assert s.open_task("review")


def test_repeated_refusal_may_not_name_new_items(s) -> None:
    """210-ФЗ: after a refusal naming the OMS scan, the operator may not demand the passport scan."""
    apply(s, application())
    s.complete("review", "operator1", {"decision": "request_correction", "items": ["documents.oms_scan"],
                                       "reason": "Скан полиса нечитаем"})
    s.upload("oms2", "oms2.png", "png")
    s.send("resubmission", {"corrections": {"documents": {"oms_scan": "$doc:oms2"}}})
    s.complete("review", "operator1", {"decision": "request_correction", "items": ["documents.passport_scan"],
                                       "reason": "Нужен другой разворот"})
    inst = s.instance()
    assert inst["portal_status"] == "Заявление принято к рассмотрению"
    assert "Скан паспорта" in inst["data"]["review_note"]
    assert s.open_task("review")


def test_sla_reminder_escalation_and_support(s) -> None:
    apply(s, application())
    s.advance("3 working days")  # Tuesday 28.04: the 3rd day is not over
    assert s.run_timers() == 0
    s.advance("1 working day")
    assert s.run_timers() == 1
    mails = [(n.kind, n.recipient) for n in s.notifications() if n.kind.startswith("staff")]
    assert mails == [("staff_reminder", "medbook_operators@medflow.local")]
    s.advance("7 working days")  # 12.05: the 10th working day (08.05) is over, 11.05 is a holiday
    s.run_timers()
    assert ("staff_escalation", "supervisors@medflow.local") in [(n.kind, n.recipient) for n in s.notifications()]
    assert s.open_task("review")["overdue"] is True
    s.advance("5 working days")
    s.run_timers()
    assert [t.reason for t in s.tickets()] == ["sla_breach"]
    s.complete("review", "operator1", {"decision": "approve"})
    assert s.instance()["status"] == "completed"


def test_duplicate_application_is_refused(s) -> None:
    apply(s, application(), name="first")
    apply(s, application(), name="second")
    inst = s.instance("second")
    assert (inst["status"], inst["portal_status"]) == ("completed", "Отказано в предоставлении услуги")
    assert "МК-2026-000001" in inst["data"]["refusal_notice"]["reason"]
    assert s.instance("first")["status"] == "running"


def test_minor_must_apply_through_a_representative(s) -> None:
    minor = {"filed_by": "self", "applicant": {"$demo_applicant": 2},
             "medbook": {"type": "regular", "work_category": "catering_trade"},
             "documents": {"passport_scan": "$doc:passport", "oms_scan": "$doc:oms", "health_certificate": "$doc:oms"},
             "consent_personal_data": True}
    apply(s, minor, user="sidorov")
    notice = s.instance()["data"]["refusal_notice"]
    assert notice["items"] == {"filed_by": "За несовершеннолетнего заявление подаёт законный представитель"}
    s.upload("birth", "birth_certificate.pdf", "pdf")
    s.upload("consent", "consent.pdf", "pdf")
    s.send("resubmission", {"corrections": {
        "filed_by": "legal_representative",
        "representative": {"$demo_applicant": 3, "phone": "+79160000000", "email": "mother@example.ru"},
        "documents": {"birth_certificate": "$doc:birth", "representative_consent": "$doc:consent"}}})
    assert s.open_task("review")
    s.complete("review", "operator1", {"decision": "approve"})
    assert s.instance()["data"]["medbook_issued"]["number"].startswith("ЭМК-")
    assert DEMO_PEOPLE[2]["snils"] == demo_applicant(2)["snils"]


def test_renewal_watchers_work_through_a_backlog_earliest_expiry_first(s) -> None:
    """250 documents without a watcher (a migration from another system, a busy day): the job starts
    a batch of 100 per run and comes back at the next tick while more wait, not an hour later; it
    reads them with one indexed query instead of loading every valid document."""
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import func, insert, select

    from handlers.service_models import IssuedCertificate

    rows = [dict(number=f"ЭМК-2026-{i:06d}", kind="medbook", holder_name="Смирнова Анна Андреевна",
                 details={}, valid_from=date(2026, 1, 1), valid_until=date(2027, 6, 1) - timedelta(days=i),
                 status="revoked" if i == 7 else "valid", issued_at=datetime(2026, 1, 1, tzinfo=UTC))
            for i in range(251)]
    with s.medflow.db.write() as session:
        session.execute(insert(IssuedCertificate), rows)
    (job,) = [j for j in s.medflow.periodic_jobs if j.name == "renewal_reminders"]
    batches: list[list[str]] = []
    run = job.run
    job.run = lambda: batches.append(run()) or batches[-1]
    while job.run_if_due():
        pass
    assert [len(b) for b in batches] == [100, 100, 50]
    assert not job.run_if_due()  # the backlog is done: the next run is an interval away
    with s.medflow.db.read() as session:
        watched = dict(session.execute(select(IssuedCertificate.renewal_watcher, IssuedCertificate.number)
                                       .where(IssuedCertificate.renewal_watcher.is_not(None))).all())
        assert session.scalar(select(func.count()).where(IssuedCertificate.renewal_watcher.is_(None))) == 1
    assert sorted(watched) == sorted(key for b in batches for key in b)  # each started once
    first = [watched[key] for key in batches[0]]
    assert first == [f"ЭМК-2026-{i:06d}" for i in range(250, 150, -1)]  # earliest expiry first
    assert "ЭМК-2026-000007" not in watched.values()  # revoked


def test_renewal_watchers_start_once_per_document(s) -> None:
    from handlers.renewal_scheduler import start_renewal_watchers

    apply(s, application())
    s.complete("review", "operator1", {"decision": "approve"})
    assert start_renewal_watchers(s.medflow) == ["ПР-2026-000001"]
    assert start_renewal_watchers(s.medflow) == []  # already watched
    watcher = s.medflow.queries.instance("ПР-2026-000001")
    assert [j["element_id"] for j in watcher["jobs"]] == ["wait_reminder"]
    assert watcher["data"]["initiated_by"] == "reminder"


def test_a_periodic_job_runs_at_the_first_tick_even_soon_after_boot(monkeypatch) -> None:
    """time.monotonic() counts from boot: with "never ran" as 0, a machine up for ten minutes
    waited the rest of an hour for the first renewal scan."""
    from engine import periodic

    ran: list[int] = []
    job = periodic.PeriodicJob("scan", 3600, lambda: ran.append(1))
    monkeypatch.setattr(periodic.time, "monotonic", lambda: 600.0)
    assert job.run_if_due() and ran == [1]
    assert not job.run_if_due()
