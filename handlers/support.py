"""Support tickets: opened by a diagram when a case needs people outside the normal flow
(a repeated refusal, an application stuck past its deadline)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import clock
from engine.business_keys import allocate_business_key
from engine.handler_registry import CallContext, handler
from handlers.notifications import enqueue
from handlers.service_models import SupportTicket
from handlers.services import environment, session_for

TICKET_PREFIX = "ТП"


@handler("open_support_ticket", params={"type": "object", "required": ["reason"],
                                        "properties": {"reason": {"type": "string"},
                                                       "description": {"type": ["string", "null"]}}})
def open_support_ticket(reason: str, ctx: CallContext, description: str | None = None) -> dict[str, Any]:
    """Open a ticket for the application (once per call, however often the step is retried)."""
    session = session_for(ctx)
    existing = session.scalar(select(SupportTicket).where(SupportTicket.idempotency_key == ctx.idempotency_key))
    if existing is not None:
        return {"number": existing.number, "created": False}
    env = environment(ctx)
    zone_year = clock.now().astimezone(ZoneInfo(env.settings.timezone)).year
    number = allocate_business_key(session, str(env.setting("support.ticket_prefix", TICKET_PREFIX)), zone_year)
    text = description or f"Заявление {ctx.business_key}: {reason}"
    session.add(SupportTicket(number=number, idempotency_key=ctx.idempotency_key, business_key=ctx.business_key,
                              reason=reason, description=text, status="open", created_at=clock.now()))
    mailbox = env.setting("notifications.groups.support") or "support@medflow.local"
    enqueue(session, kind="generic", values={"text": f"Открыто обращение {number}. {text}"}, email=str(mailbox),
            phone=None, instance_id=ctx.instance_id, business_key=ctx.business_key,
            idempotency_key=f"{ctx.idempotency_key}:ticket")
    session.flush()
    return {"number": number, "created": True}
