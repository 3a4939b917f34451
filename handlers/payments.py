"""Payment for paid extras (the printed medbook copy: 250–500 ₽ by format).

A payment gateway is an adapter (``adapters.payment_gateway``); the local one keeps orders in the
``payment_orders`` table and is marked paid by :func:`confirm_local_payment` (the portal's demo
"pay" button, or a test), after which the portal sends the message ``payment_confirmed``.
Prices are settings (``payments.printed_copy_prices``), not code.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.handler_registry import BpmnError, CallContext, handler
from handlers.service_models import PaymentOrder
from handlers.services import HandlerEnvironment, environment, session_for

DEFAULT_PRICES = {"A6": 250, "A5": 350, "A4": 500}


class PaymentGateway(Protocol):
    def create_order(self, ctx: CallContext, purpose: str, amount_rub: int) -> dict[str, Any]: ...

    def order_status(self, ctx: CallContext, order_id: str) -> str: ...


class LocalPaymentGateway:
    def __init__(self, env: HandlerEnvironment) -> None:
        self.env = env

    def create_order(self, ctx: CallContext, purpose: str, amount_rub: int) -> dict[str, Any]:
        session = session_for(ctx)
        row = session.scalar(select(PaymentOrder).where(PaymentOrder.idempotency_key == ctx.idempotency_key))
        if row is None:
            row = PaymentOrder(id=uuid.uuid4().hex, idempotency_key=ctx.idempotency_key, business_key=ctx.business_key,
                               purpose=purpose, amount_rub=amount_rub, status="created", created_at=clock.now())
            session.add(row)
            session.flush()
        base = str(self.env.setting("web.public_url", "http://127.0.0.1:8080")).rstrip("/")
        return {"order_id": row.id, "amount": row.amount_rub, "pay_url": f"{base}/pay/{row.id}"}

    def order_status(self, ctx: CallContext, order_id: str) -> str:
        row = session_for(ctx).get(PaymentOrder, order_id)
        return row.status if row else "unknown"


def confirm_local_payment(session: Session, order_id: str) -> PaymentOrder:
    row = session.get(PaymentOrder, order_id)
    if row is None:
        raise LookupError(f"заказ {order_id} не найден")
    row.status, row.paid_at = "paid", clock.now()
    return row


def gateway(env: HandlerEnvironment) -> PaymentGateway:
    return env.adapter("payment_gateway", "handlers.payments:LocalPaymentGateway")


def price_list(env: HandlerEnvironment) -> dict[str, int]:
    configured = env.setting("payments.printed_copy_prices") or DEFAULT_PRICES
    return {str(k): int(v) for k, v in dict(configured).items()}


@handler("create_payment", params={"type": "object", "required": ["item"],
                                   "properties": {"item": {"type": "string"}, "purpose": {"type": "string"}}})
def create_payment(item: str, ctx: CallContext, purpose: str = "Печатная копия медкнижки") -> dict[str, Any]:
    """A payment order for a priced item (a printed copy format: A6, A5, A4)."""
    env = environment(ctx)
    prices = price_list(env)
    if item not in prices:
        raise BpmnError("unknown_price", f"Нет цены для «{item}»; доступны: {', '.join(sorted(prices))}")
    return gateway(env).create_order(ctx, f"{purpose} ({item})", prices[item])


@handler("check_payment", params={"type": "object", "required": ["order_id"],
                                  "properties": {"order_id": {"type": "string"}}})
def check_payment(order_id: str, ctx: CallContext) -> dict[str, Any]:
    status = gateway(environment(ctx)).order_status(ctx, order_id)
    return {"paid": status == "paid", "status": status}
