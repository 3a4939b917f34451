"""Demo accounts for every role and a few applications in different states, for `make run`.

Idempotent: accounts that exist are left alone (their passwords too), and the demo
applications are created only once (when their applicants have none yet).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from engine.accounts import Accounts
from engine.bootstrap import MedFlow

DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    groups: tuple[str, ...] = ()
    note: str = ""


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("ivanova", "Иванова Мария Петровна", "applicant", note="заявитель без заявлений: подайте медкнижку"),
    DemoUser("petrov", "Петров Алексей Сергеевич", "applicant", note="медкнижка оформлена, PDF"),
    DemoUser("sidorova", "Сидорова Ольга Викторовна", "applicant", note="заявление на рассмотрении"),
    DemoUser("kuznetsov", "Кузнецов Иван Олегович", "applicant", note="заявление требует исправления"),
    DemoUser("operator1", "Смирнова Анна (оператор)", "operator",
             ("medbook_operators", "frmr_operators", "renewal_operators", "mfc_operators", "employers"),
             "медкнижки, ФРМР, продление, МФЦ, работодатель"),
    DemoUser("operator2", "Орлов Денис (оператор)", "operator", ("medbook_operators",), "медкнижки"),
    DemoUser("commission", "Комиссия по аккредитации", "operator", ("accreditation_commission",), "аккредитация"),
    DemoUser("analyst", "Белова Ирина (аналитик)", "analyst", note="редактор процессов"),
    DemoUser("supervisor", "Волков Павел (руководитель)", "supervisor", ("supervisors",), "мониторинг и сроки"),
    DemoUser("admin", "Администратор", "admin", note="всё"),
)


def seed_accounts(accounts: Accounts) -> list[tuple[DemoUser, bool]]:
    return [(user, accounts.ensure(user.username, DEMO_PASSWORD, user.full_name, user.role, user.groups)[1])
            for user in DEMO_USERS]


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 250), (245, 245, 240)).save(buffer, format="JPEG", dpi=(300, 300))
    return buffer.getvalue()


def _upload(medflow: MedFlow, content: bytes, name: str, user: str) -> str:
    from handlers.documents import store_for
    from handlers.services import SERVICES_KEY

    store = store_for(medflow.store.services[SERVICES_KEY])
    with medflow.db.write() as session:
        return store.save(session, content, name, uploaded_by=user).id


def medbook_application(medflow: MedFlow, person: int, user: str, **contacts: Any) -> dict[str, Any]:
    from handlers.demo_registry_data import demo_applicant

    return {
        "filed_by": "self",
        "applicant": {**demo_applicant(person), "phone": "+79161234567", "email": f"{user}@example.ru", **contacts},
        "medbook": {"type": "regular", "work_category": "medical", "printed_copy": False},
        "documents": {"passport_scan": _upload(medflow, _pdf(), "passport.pdf", user),
                      "oms_scan": _upload(medflow, _jpeg(), "oms_scan.jpg", user)},
        "consent_personal_data": True,
    }


def _submit(medflow: MedFlow, user: str, person: int) -> str:
    started = medflow.runtime.start("medbook_issuance", {}, actor=user)
    key = started["business_key"]
    task = next(t for t in medflow.queries.tasks(business_key=key) if t["element_id"] == "submit_application")
    medflow.runtime.claim(task["id"], user)
    medflow.runtime.complete(task["id"], medbook_application(medflow, person, user), user=user)
    return key


def _review(medflow: MedFlow, key: str, operator: str, decision: dict[str, Any]) -> None:
    task = next(t for t in medflow.queries.tasks(business_key=key) if t["element_id"] == "review")
    medflow.runtime.claim(task["id"], operator)
    medflow.runtime.complete(task["id"], decision, user=operator)


def seed_applications(medflow: MedFlow) -> list[str]:
    """Medbook applications: issued (petrov), under review (sidorova), to be fixed (kuznetsov)."""
    if "medbook_issuance" not in {d["process_key"] for d in medflow.queries.definitions()}:
        return []
    if medflow.queries.instances(started_by="petrov", limit=1):
        return []
    lines = []
    issued = _submit(medflow, "petrov", 1)
    _review(medflow, issued, "operator1", {"decision": "approve"})
    lines.append(f"{issued}: petrov — {medflow.queries.instance(issued, with_data=False)['portal_status']}")
    review = _submit(medflow, "sidorova", 3)
    lines.append(f"{review}: sidorova — {medflow.queries.instance(review, with_data=False)['portal_status']}")
    fix = _submit(medflow, "kuznetsov", 4)
    status = medflow.queries.instance(fix, with_data=False)["portal_status"]
    if status != "Заявление требует исправления" and medflow.queries.tasks(business_key=fix):
        _review(medflow, fix, "operator2", {"decision": "request_correction", "items": ["documents.oms_scan"],
                                             "reason": "Скан полиса ОМС нечитаем"})
        status = medflow.queries.instance(fix, with_data=False)["portal_status"]
    lines.append(f"{fix}: kuznetsov — {status}")
    return lines


def seed(medflow: MedFlow, accounts: Accounts) -> dict[str, Any]:
    import handlers

    handlers.setup(medflow, seed_demo=True)
    users = seed_accounts(accounts)
    applications = seed_applications(medflow)
    return {"users": users, "applications": applications}
