"""The login throttle: one limit per client address for all web processes, a sliding window,
and the client's address taken from a trusted proxy only."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from engine.account_models import Account, LoginAttempt
from engine.db import connect
from engine.login_throttle import LoginThrottle
from tests.web_harness import make_web


class Moment:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_every_process_counts_against_one_limit(medflow) -> None:
    """Two processes (two connections, two throttles) share the count: the 5th attempt is refused
    in whichever process it lands."""
    other_db = connect(medflow.db.url)
    try:
        now = Moment(1_000_000.0)
        here, there = LoginThrottle(medflow.db, 4, 300, now), LoginThrottle(other_db, 4, 300, now)
        answers = [throttle.allow("10.0.0.7") for throttle in (here, there, here, there, here, there)]
        assert answers == [True, True, True, True, False, False]
        assert here.allow("10.0.0.8") and there.allow("10.0.0.8")  # another address has its own count
    finally:
        other_db.dispose()


def test_concurrent_attempts_are_counted_exactly(medflow) -> None:
    """Attempts racing in two processes: exactly ``limit`` pass (a read-then-write count lets more)."""
    other_db = connect(medflow.db.url)
    now = Moment(2_000_000.0)
    throttles = [LoginThrottle(medflow.db, 25, 300, now), LoginThrottle(other_db, 25, 300, now)]
    allowed: list[bool] = []
    start = threading.Barrier(2)

    def hammer(throttle: LoginThrottle) -> None:
        start.wait()
        for _ in range(30):
            allowed.append(throttle.allow("203.0.113.5"))

    threads = [threading.Thread(target=hammer, args=(t,)) for t in throttles]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other_db.dispose()
    assert allowed.count(True) == 25 and len(allowed) == 60
    with medflow.db.read() as session:
        assert session.scalar(select(LoginAttempt.attempts)) == 60  # refused attempts count too


def test_the_window_slides_and_old_windows_are_forgotten(medflow) -> None:
    now = Moment(100 * 1000.0)  # the start of window 1000 of 100 s
    throttle = LoginThrottle(medflow.db, 3, 100, now)
    assert [throttle.allow("a") for _ in range(4)] == [True, True, True, False]
    # Half-way through the next window, half of the last one's 4 attempts still count: 2 + 1 ≤ 3.
    now.at = 100 * 1001.5
    assert throttle.allow("a") is True
    assert throttle.allow("a") is False  # 2 + 2 > 3: a fixed window would have allowed 3 here
    # Two windows on, the attempts of window 1000 are gone from the table.
    now.at = 100 * 1002.9
    assert throttle.allow("a") is True  # 1 + 2 × 0.1
    with medflow.db.read() as session:
        windows = session.scalars(select(LoginAttempt.window).order_by(LoginAttempt.window)).all()
    assert windows == [1001, 1002]


def test_a_limit_without_attempts_is_refused_at_start(medflow) -> None:
    with pytest.raises(ValueError):
        LoginThrottle(medflow.db, 0, 300)


def _login(client, username: str, password: str, address: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": address} if address else {}
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       headers=headers)


def _failed_logins(web, username: str) -> int:
    with web.medflow.db.read() as session:
        return session.scalar(select(Account.failed_logins).where(Account.username == username))


def test_behind_a_proxy_each_client_address_has_its_own_limit(tmp_path) -> None:
    web = make_web(tmp_path, settings={"web.proxies": 1, "web.login_attempts_per_address": 3,
                                       "web.login_max_failures": 100})
    client = web.client()
    codes = [_login(client, "ivanova", "wrong-password1", "198.51.100.1").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    refused = _login(client, "ivanova", "demo12345", "198.51.100.1")
    assert refused.status_code == 429
    assert "Слишком много попыток входа" in refused.get_data(as_text=True)
    assert _failed_logins(web, "ivanova") == 3  # the refused attempts did not reach the account
    assert _login(web.client(), "ivanova", "demo12345", "198.51.100.2").status_code == 302
    with web.medflow.db.read() as session:
        addresses = set(session.scalars(select(LoginAttempt.address)))
    assert addresses == {"198.51.100.1", "198.51.100.2"}


def test_without_a_proxy_a_client_cannot_choose_its_address(tmp_path) -> None:
    web = make_web(tmp_path, settings={"web.login_attempts_per_address": 3, "web.login_max_failures": 100})
    client = web.client()
    codes = [_login(client, "ivanova", "wrong-password1", f"192.0.2.{i}").status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    with web.medflow.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
