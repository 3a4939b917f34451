"""How often one client address may try to log in, counted in the database.

Every web process of every server shares the count, so the limit is the same however many
gunicorn workers and servers there are (issue 5: processes coordinate only through the database).
The window slides: the estimate is this window's attempts plus the previous window's, weighted by
how much of it still overlaps the last ``window`` seconds — a fixed window would let an address
make twice the limit across a window's edge.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import bindparam, delete, select

from engine.account_models import LoginAttempt
from engine.db import Database, upsert_statements

_TABLE = LoginAttempt.__table__
# One statement counts the attempt and answers the new count, atomically between processes.
_COUNT_ATTEMPT = upsert_statements(_TABLE, [_TABLE.c.address, _TABLE.c.window],
                                   lambda insert: {"attempts": _TABLE.c.attempts + 1}, returning=[_TABLE.c.attempts])
_PREVIOUS = select(_TABLE.c.attempts).where(_TABLE.c.address == bindparam("b_address"),
                                            _TABLE.c.window == bindparam("b_window"))
_FORGET = delete(_TABLE).where(_TABLE.c.window < bindparam("b_before"))


class LoginThrottle:
    """At most ``limit`` login attempts per address in any ``window_seconds``. Refused attempts
    count too: an address that keeps hammering stays refused until it slows down."""

    def __init__(self, db: Database, limit: int, window_seconds: float,
                 now: Callable[[], float] = time.time) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("the login limit needs at least one attempt in a positive window")
        self.db, self.limit, self.window, self.now = db, limit, window_seconds, now

    def allow(self, address: str) -> bool:
        moment = self.now() / self.window
        window = int(moment)
        overlap = 1.0 - (moment - window)  # share of the previous window still inside the last `window` seconds
        key = address[:64] or "?"
        with self.db.write() as session:
            connection = session.connection()
            current = connection.scalar(_COUNT_ATTEMPT[connection.dialect.name],
                                        {"address": key, "window": window, "attempts": 1})
            previous = connection.scalar(_PREVIOUS, {"b_address": key, "b_window": window - 1}) or 0
            if current == 1:  # the first attempt of a window: windows before the previous one are done with
                connection.execute(_FORGET, {"b_before": window - 1})
        return current + previous * overlap <= self.limit
