"""What «Мои заявления» shows about one application, read from the engine: status timeline,
the deadline in force, the refusal and what to fix, the issued document.

Only what the applicant should see: the audit log is reduced to status changes and the
applicant's own actions; internal data (check results, handler outputs) is not listed.
"""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import select

from engine.account_rules import APPLICANT_GROUP
from engine.accounts import AccountInfo
from engine.errors import NotFound
from handlers.service_models import ApplicationRecord
from webui.display import medflow

FIX_STATUS = "Заявление требует исправления"
_PORTAL_MESSAGES = {
    "resubmission": "Отправить исправления",
    "payment_confirmed": "Подтвердить оплату",
    "identity_confirmed": "Подтвердить личность",
    "application_message": "Написать сообщение",
}


def own_instance(key: str, who: AccountInfo) -> dict[str, Any]:
    """The application if ``who`` may see it; 404 otherwise, so numbers of others are not confirmed."""
    try:
        instance = medflow().queries.instance(key)
    except NotFound:
        abort(404)
    if who.role == "applicant" and instance.get("started_by") != who.username:
        abort(404)
    if not who.can("applicant"):
        abort(403)
    return instance


def applicant_names(keys: list[str]) -> dict[str, str]:
    """Whom each application is about, as its steps registered them (``register_application``
    runs again after a correction): one query for a worklist page, where reading each application's
    data took 2–5 ms apiece (200 rows: about a second). Keys of procedures that register nobody
    are missing."""
    if not keys:
        return {}
    query = (select(ApplicationRecord.business_key, ApplicationRecord.full_name)
             .where(ApplicationRecord.business_key.in_(sorted(set(keys)))))
    with medflow().db.read_one() as connection:
        return {key: name for key, name in connection.execute(query) if name}


def applicant_task(instance: dict[str, Any]) -> dict[str, Any] | None:
    """The open task the applicant does themselves (the draft's form, a renewal's form)."""
    for task in instance.get("open_tasks") or []:
        if task.get("candidate_group") == APPLICANT_GROUP:
            return task
    return None


# The audit actions an applicant's timeline is made of (the log also holds every engine step).
TIMELINE_ACTIONS = ("status_changed", "task_completed", "message_received", "instance_cancelled")


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for event in history:
        action = event["action"]
        if action == "status_changed" and event.get("new"):
            steps.append({"at": event["at"], "text": event["new"], "kind": "status"})
        elif action == "task_completed" and event.get("element_id") in ("submit_application", "submit_renewal"):
            steps.append({"at": event["at"], "text": "Заявление отправлено", "kind": "action"})
        elif action == "message_received" and event.get("new") == "resubmission":
            steps.append({"at": event["at"], "text": "Исправления отправлены", "kind": "action"})
        elif action == "message_received" and event.get("new") == "payment_confirmed":
            steps.append({"at": event["at"], "text": "Оплата подтверждена", "kind": "action"})
        elif action == "instance_cancelled":
            steps.append({"at": event["at"], "text": "Заявление отменено", "kind": "status"})
    return steps


def deadline(instance: dict[str, Any]) -> dict[str, Any] | None:
    """The one date the applicant should know now."""
    data = instance.get("data") or {}
    notice = data.get("refusal_notice") or {}
    waiting = instance.get("waiting_for_messages") or []
    if "resubmission" in waiting and notice.get("deadline"):
        return {"text": f"Исправить до {notice['deadline']} включительно", "kind": "fix"}
    if "payment_confirmed" in waiting:
        jobs = instance.get("jobs") or []
        return {"text": "Оплатить печатную копию", "due": jobs[0]["due_at"] if jobs else None, "kind": "pay"}
    staff = [t for t in instance.get("open_tasks") or [] if t.get("candidate_group") != APPLICANT_GROUP]
    due = [t["due_at"] for t in staff if t.get("due_at")]
    if due:
        return {"text": "Срок рассмотрения", "due": min(due), "kind": "review"}
    return None


def refusal(instance: dict[str, Any]) -> dict[str, Any] | None:
    data = instance.get("data") or {}
    notice = data.get("refusal_notice")
    status = instance.get("portal_status") or ""
    if not isinstance(notice, dict) or not (status == FIX_STATUS or "Отказ" in status):
        return None
    return notice


def results(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """Issued documents: any data value that carries a certificate's number and document id."""
    found = []
    for name, value in (instance.get("data") or {}).items():
        if isinstance(value, dict) and value.get("document_id") and value.get("number"):
            found.append({"variable": name, **value})
    return found


def portal_actions(instance: dict[str, Any]) -> list[dict[str, str]]:
    return [{"message": m, "label": _PORTAL_MESSAGES[m]} for m in instance.get("waiting_for_messages") or []
            if m in _PORTAL_MESSAGES]


def submitted_values(instance: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    """The application as sent (and corrected since): the process variables the form defines."""
    data = instance.get("data") or {}
    names = (schema or {}).get("properties") or {}
    return {name: data[name] for name in names if name in data and data[name] is not None}


def submit_task(business_key: str) -> dict[str, Any] | None:
    """The applicant's completed first task: its schema describes the application."""
    queries = medflow().queries
    done = queries.tasks(business_key=business_key, status="completed", limit=200)
    for task in done:
        if task.get("candidate_group") == APPLICANT_GROUP:
            return queries.task(task["id"])
    return None
