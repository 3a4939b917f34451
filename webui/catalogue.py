"""The applicant's catalogue of procedures: how each deployed process is presented on the portal.

Only processes listed here are offered to applicants (the others, such as the reusable
refusal sub-procedure, are internal). ``start_fields`` are asked before the application is
created, for processes whose first step needs them (renewal looks the document up by number).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
    key: str
    title: str
    summary: str
    result: str
    term: str
    cost: str
    audience: str
    start_fields: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)  # name, label, help


SERVICES: tuple[Service, ...] = (
    Service("medbook_issuance", "Оформление электронной медицинской книжки",
            "Электронная личная медицинская книжка для работников общепита, торговли, образования, медицины и других сфер.",
            "Электронная медкнижка (PDF с QR-кодом); по желанию — печатная копия", "до 10 рабочих дней",
            "бесплатно; печатная копия — 250–500 ₽", "Работникам и их представителям"),
    Service("clinician_registration", "Регистрация в личном кабинете медицинского работника",
            "Учётная запись медицинского работника: сведения о работе, специальности и документах; сверка с ФРМР.",
            "Доступ к личному кабинету медработника", "до 10 рабочих дней", "бесплатно", "Медицинским работникам"),
    Service("qualification_confirmation", "Подтверждение квалификации",
            "Проверка диплома, документов об ординатуре и стаже и передача сведений в регистр.",
            "Запись о подтверждённой квалификации", "до 5 рабочих дней", "бесплатно", "Медицинским работникам"),
    Service("accreditation", "Аккредитация специалиста",
            "Первичная, специализированная, периодическая или временная аккредитация с рассмотрением комиссией.",
            "Свидетельство об аккредитации (PDF с QR-кодом)", "до 30 рабочих дней", "бесплатно",
            "Выпускникам и медицинским работникам"),
    Service("renewal", "Продление медкнижки или свидетельства",
            "Продление срока действия выданного документа с обновлением изменившихся сведений.",
            "Документ с новым сроком действия", "до 5 рабочих дней", "печатная копия — платно",
            "Владельцам медкнижек и свидетельств",
            start_fields=(("certificate_number", "Номер документа",
                           "Например, ЭМК-2026-000001 — указан в документе и в «Моих заявлениях»"),)),
)

BY_KEY = {service.key: service for service in SERVICES}
