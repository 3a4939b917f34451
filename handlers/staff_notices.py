"""The deputy hears of a substitution by e-mail: named (from when to when, whose work) or cancelled.

A listener of :class:`engine.substitutions.Substitutions`, run inside the substitution's own
transaction, so the outbox row commits with it or not at all, as the applicants' notices do.
Texts are the ``substitution_named`` / ``substitution_cancelled`` templates (config.yaml may
override them under ``notifications.templates``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.account_models import Account
from engine.substitutions import SubstitutionInfo
from handlers.notifications import enqueue

_KINDS = {"added": "substitution_named", "cancelled": "substitution_cancelled"}


def substitution_listener(templates: dict[str, Any] | None = None) -> Any:
    def on_substitution(session: Session, event: str, info: SubstitutionInfo) -> None:
        people = {row.username: row for row in session.execute(
            select(Account.username, Account.full_name, Account.email, Account.groups)
            .where(Account.username.in_([info.absent, info.deputy])))}
        deputy, absent = people.get(info.deputy), people.get(info.absent)
        if deputy is None or not deputy.email:
            return  # nobody to write to: the deputy sees it on the worklist's notice
        values = {"absent": info.absent, "absent_name": absent.full_name if absent else info.absent,
                  "starts_on": f"{info.starts_on:%d.%m.%Y}", "ends_on": f"{info.ends_on:%d.%m.%Y}",
                  "reason": f" ({info.reason})" if info.reason else "",
                  "groups": ", ".join(absent.groups or ()) if absent and absent.groups else "—",
                  "by": info.cancelled_by if event == "cancelled" else info.created_by}
        enqueue(session, kind=_KINDS[event], values=values, email=deputy.email, phone=None, instance_id=None,
                business_key=None, idempotency_key=f"substitution:{info.id}:{event}", templates=templates)

    return on_substitution
