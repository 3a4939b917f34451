"""The refusal notice: what is wrong, in words a person reads, and until when to fix it.

Law 210-ФЗ: after a refusal to accept documents, the agency may not demand a document or a piece
of information that the refusal did not name (unless the applicant changed it since). So a
repeated refusal drops the items outside ``allowed_items`` and, when nothing is left, is not a
valid refusal at all (``valid: false``): the caller sends the case back to its reviewer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.handler_registry import handler
from handlers.documents import DOCUMENT_TITLES

FIELD_LABELS = {
    "applicant": "Сведения о заявителе",
    "applicant.last_name": "Фамилия", "applicant.first_name": "Имя", "applicant.middle_name": "Отчество",
    "applicant.gender": "Пол", "applicant.birth_date": "Дата рождения", "applicant.snils": "СНИЛС",
    "applicant.inn": "ИНН", "applicant.oms": "Полис ОМС", "applicant.passport": "Паспорт: серия и номер",
    "applicant.passport_issued_on": "Паспорт: дата выдачи", "applicant.passport_issued_by": "Паспорт: кем выдан",
    "applicant.passport_unit_code": "Паспорт: код подразделения", "applicant.phone": "Телефон",
    "applicant.email": "Электронная почта", "filed_by": "Кто подаёт заявление",
    "representative": "Сведения о представителе", "documents": "Документы",
    "employment": "Сведения о работе", "employment.employer_ogrn": "ОГРН работодателя",
    "employment.speciality": "Специальность", "employment.position": "Должность",
    "employment.start_date": "Дата начала работы",
}  # fmt: skip


def label(key: str) -> str:
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    section, _, name = key.partition(".")
    if section in ("documents", "changed_documents") and name in DOCUMENT_TITLES:
        title = DOCUMENT_TITLES[name]
        return title[:1].upper() + title[1:]
    if section == "representative" and f"applicant.{name}" in FIELD_LABELS:
        return f"Представитель: {FIELD_LABELS['applicant.' + name].lower()}"
    return key


def _as_items(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v or "") for k, v in raw.items()}
    if isinstance(raw, list):
        return {str(k): "" for k in raw}
    return {}


_PARAMS = {
    "type": "object",
    "required": ["refusal", "fix_days", "deadline"],
    "properties": {
        "refusal": {"type": "object", "required": ["kind"],
                    "properties": {"kind": {"enum": ["documents", "service"]}, "reason": {"type": ["string", "null"]}}},
        "fix_days": {"type": "integer", "minimum": 1},
        "deadline": {"type": "string"},
        "allowed_items": {"type": ["array", "null"]},
    },
}


@handler("prepare_refusal", params=_PARAMS)
def prepare_refusal(
    refusal: dict[str, Any], fix_days: int, deadline: str, allowed_items: list[str] | None = None
) -> dict[str, Any]:
    """Normalize a refusal into the notice the applicant gets and the portal shows."""
    kind = refusal["kind"]
    items = _as_items(refusal.get("items"))
    dropped: list[str] = []
    if kind == "documents" and allowed_items is not None:
        allowed = set(allowed_items)
        # A field is allowed when it or its section was named before (documents ⊃ documents.passport_scan).
        dropped = [k for k in items if k not in allowed and k.partition(".")[0] not in allowed]
        items = {k: v for k, v in items.items() if k not in dropped}
    lines = [f"{label(k)} — {v}" if v else label(k) for k, v in items.items()]
    reason = str(refusal.get("reason") or "").strip() or (
        "заявление заполнено с ошибками или документы не прошли проверку" if kind == "documents"
        else "основания указаны ниже")
    comment = str(refusal.get("comment") or "").strip()
    if comment:
        lines.append(f"Комментарий: {comment}")
    valid = kind == "service" or bool(items) or (not dropped and not refusal.get("items"))
    return {
        "kind": kind, "reason": reason, "items": items, "item_keys": list(items), "item_list": lines,
        "dropped": [label(k) for k in dropped], "days": fix_days,
        "deadline": date.fromisoformat(deadline[:10]).strftime("%d.%m.%Y"), "valid": valid,
    }
