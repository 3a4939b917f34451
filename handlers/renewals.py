"""Renewal of an issued document: what it is and when to remind, and the extension itself.

The reminder moment is ``valid_until`` minus ``renewal.remind_days_before`` (30 by default) at 09:00
local time; the renewal window closes when ``valid_until`` ends. A renewal keeps the number,
extends the validity from the later of today and the old end date, and issues a fresh PDF.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import clock
from engine.handler_registry import BpmnError, CallContext, handler
from handlers.certificates import KINDS, CertificateContent, add_months, render_pdf, verify_url
from handlers.documents import store_for
from handlers.registry_models import EgiszMedbook
from handlers.service_models import ApplicationRecord, IssuedCertificate
from handlers.services import environment, session_for


def _moment(day: date, at: time, zone: ZoneInfo) -> str:
    return datetime.combine(day, at, zone).astimezone(clock.UTC).isoformat()


@handler("certificate_info", params={"type": "object", "required": ["number"], "properties": {"number": {"type": "string"}}})
def certificate_info(number: str, ctx: CallContext) -> dict[str, Any]:
    """The document to renew, its holder's contacts and the reminder / expiry moments."""
    env = environment(ctx)
    session = session_for(ctx)
    row = session.get(IssuedCertificate, number)
    if row is None:
        raise BpmnError("certificate_not_found", f"Документ № {number} не найден")
    zone = ZoneInfo(env.settings.timezone)
    before = int(env.setting("renewal.remind_days_before", 30))
    origin = session.scalar(select(ApplicationRecord).where(ApplicationRecord.business_key == row.business_key))
    parts = row.holder_name.split()
    holder = {"last_name": parts[0] if parts else "", "first_name": parts[1] if len(parts) > 1 else "",
              "middle_name": " ".join(parts[2:]) or None, "snils": row.snils}
    return {
        "number": row.number, "kind": row.kind, "holder_name": row.holder_name, "holder": holder,
        "contact": {"email": origin.email if origin else None, "phone": origin.phone if origin else None},
        "valid_until": row.valid_until.isoformat(), "valid_until_text": row.valid_until.strftime("%d.%m.%Y"),
        "remind_at": _moment(row.valid_until - timedelta(days=before), time(9, 0), zone),
        "expires_at": _moment(row.valid_until + timedelta(days=1), time(0, 0), zone),
        "title": KINDS.get(row.kind, {}).get("document", row.kind),
    }


@handler("renew_certificate", params={"type": "object", "required": ["number"],
                                      "properties": {"number": {"type": "string"},
                                                     "months": {"type": ["integer", "null"], "minimum": 1}}})
def renew_certificate(number: str, ctx: CallContext, months: int | None = None) -> dict[str, Any]:
    """Extend the validity, record it (ЕГИСЗ for a medbook) and issue a new PDF with the same number."""
    env = environment(ctx)
    session = session_for(ctx)
    row = session.get(IssuedCertificate, number)
    if row is None:
        raise BpmnError("certificate_not_found", f"Документ № {number} не найден")
    public_url = str(env.setting("web.public_url", "http://127.0.0.1:8080"))
    renewed_by = (row.details or {}).get("renewed_by")
    if renewed_by != ctx.idempotency_key:  # a retried step must not extend twice
        today = clock.now().astimezone(ZoneInfo(env.settings.timezone)).date()
        validity = months or int(env.setting(f"certificates.{row.kind}.validity_months", KINDS[row.kind]["months"]))
        start = max(today, row.valid_until + timedelta(days=1))
        row.valid_until = add_months(start, validity) - timedelta(days=1)
        lines = [("Продлено", today.strftime("%d.%m.%Y")), ("Действует по", row.valid_until.strftime("%d.%m.%Y"))]
        pdf = render_pdf(CertificateContent(KINDS[row.kind]["title"], number, row.holder_name, lines,
                                            verify_url(public_url, number)), env.setting("certificates.font"))
        document = store_for(env).save(session, pdf, f"{number}-renewal.pdf", uploaded_by="system",
                                       business_key=ctx.business_key)
        row.document_id, row.status = document.id, "valid"
        # The next period needs its own reminder: the scheduler starts a new watcher when the mark is gone.
        row.details = {**(row.details or {}), "renewed_by": ctx.idempotency_key, "renewed_on": today.isoformat()}
        row.renewal_watcher = None
        medbook = session.get(EgiszMedbook, number) if row.kind == "medbook" else None
        if medbook is not None:
            medbook.valid_until, medbook.status = row.valid_until, "active"
        session.flush()
    return {"number": number, "valid_until": row.valid_until.isoformat(),
            "valid_until_text": row.valid_until.strftime("%d.%m.%Y"), "document_id": row.document_id,
            "verify_url": verify_url(public_url, number)}
