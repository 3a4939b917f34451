"""Application numbers a person can read: PREFIX-YEAR-NNNNNN, e.g. МК-2026-000123."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.models import Sequence

_BUMP = (update(Sequence).where(Sequence.name == bindparam("sequence"))
         .values(value=Sequence.value + 1).returning(Sequence.value))


def allocate_business_key(session: Session, prefix: str, year: int) -> str:
    """Next number of the (prefix, year) sequence, inside the caller's transaction.

    The UPDATE takes the row lock, so concurrent starts on PostgreSQL queue instead of
    handing out the same number; the first number of a year inserts the row.
    """
    name = f"{prefix}-{year}"
    for _ in range(3):
        value = session.connection().scalar(_BUMP, {"sequence": name})
        if value is not None:
            return f"{name}-{value:06d}"
        try:
            with session.begin_nested():
                session.add(Sequence(name=name, value=1))
            return f"{name}-{1:06d}"
        except IntegrityError:
            continue
    raise RuntimeError(f"не удалось выделить номер заявления для {name}")
