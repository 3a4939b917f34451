"""Accounts, login, lockout, session expiry, CSRF, roles and security headers."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from engine.accounts import Accounts, LoginRefused
from engine.errors import Conflict, ValidationFailed
from tests.medflow_harness import recorded_statements
from tests.web_harness import make_web


@pytest.fixture()
def web(tmp_path):
    return make_web(tmp_path)


@pytest.fixture(scope="module")
def shared_web(tmp_path_factory):
    """For tests that only read: one engine for the module keeps the suite fast."""
    return make_web(tmp_path_factory.mktemp("web"))


def _csrf(client, path="/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_passwords_are_hashed_and_checked(web) -> None:
    info = web.accounts.create("nurse", "secret123", "Медсестра", role="operator", groups=["medbook_operators"])
    assert info.groups == ("medbook_operators",)
    with web.medflow.db.read() as session:
        from engine.account_models import Account

        stored = session.get(Account, info.id).password_hash
    assert stored.startswith("$argon2") and "secret123" not in stored
    assert web.accounts.authenticate("nurse", "secret123").username == "nurse"
    with pytest.raises(Conflict):
        web.accounts.create("nurse", "secret123", "x")
    with pytest.raises(ValidationFailed) as caught:
        web.accounts.create("bad name", "short", "x", role="king")
    assert {e["field"] for e in caught.value.errors} == {"username", "password", "role"}


def test_lockout_after_repeated_failures_and_unlock_after_time(web) -> None:
    now = [datetime(2026, 5, 1, 9, 0, tzinfo=UTC)]
    accounts = Accounts(web.medflow.db, web.medflow.settings, now=lambda: now[0])
    for attempt in range(4):
        with pytest.raises(LoginRefused, match=f"Осталось попыток до временной блокировки: {4 - attempt}"):
            accounts.authenticate("ivanova", "wrong")
    with pytest.raises(LoginRefused, match="временно заблокирована"):
        accounts.authenticate("ivanova", "wrong")
    with pytest.raises(LoginRefused, match="временно заблокирована"):
        accounts.authenticate("ivanova", "demo12345")  # even the right password, while locked
    now[0] += timedelta(minutes=16)
    assert accounts.authenticate("ivanova", "demo12345").role == "applicant"
    actions = [e["action"] for e in accounts.security_events()]
    assert "account_locked" in actions and "login_succeeded" in actions


def test_unknown_user_gets_the_same_message(web) -> None:
    with pytest.raises(LoginRefused, match="^Неверное имя пользователя или пароль$"):
        web.accounts.authenticate("nobody", "whatever1")


def test_login_page_logs_in_and_redirects_by_role(web) -> None:
    client = web.client()
    token = _csrf(client)
    response = client.post("/login", data={"username": "operator1", "password": "demo12345", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/worklist/")
    bad = web.client()
    page = bad.post("/login", data={"username": "operator1", "password": "nope", "csrf_token": _csrf(bad)})
    assert page.status_code == 401 and "Неверное имя пользователя или пароль" in page.get_data(as_text=True)


def test_login_redirects_only_to_local_next(web) -> None:
    for target in ("https://evil.example/", "/\\evil.example/"):
        client = web.client()
        response = client.post(f"/login?next={target}", data={
            "username": "ivanova", "password": "demo12345", "csrf_token": _csrf(client)})
        assert response.headers["Location"] == "/"


def test_post_without_csrf_token_is_refused(web) -> None:
    client = web.client()
    response = client.post("/login", data={"username": "ivanova", "password": "demo12345"})
    assert response.status_code == 400 and "Форма устарела" in response.get_data(as_text=True)
    logged = web.login("ivanova")
    assert logged.post("/services/medbook_issuance/start", data={}).status_code == 400


def test_session_expires_after_inactivity(web) -> None:
    client = web.login("ivanova")
    assert client.get("/applications").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = time.time() - 31 * 60
    response = client.get("/applications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/applications").status_code == 302
    assert "logout" in [e["action"] for e in web.accounts.security_events()]


def test_logout(web) -> None:
    client = web.login("ivanova")
    client.post_form("/logout")
    assert client.get("/applications").status_code == 302


@pytest.mark.parametrize(("user", "path", "status"), [
    ("ivanova", "/worklist/", 403), ("ivanova", "/monitor/", 403), ("ivanova", "/modeler/", 403),
    ("operator1", "/applications", 403), ("operator1", "/modeler/", 403), ("operator1", "/worklist/", 200),
    ("analyst", "/modeler/", 200), ("analyst", "/worklist/", 403), ("supervisor", "/monitor/", 200),
    ("admin", "/monitor/", 200), ("admin", "/modeler/", 200), ("admin", "/worklist/", 200),
])
def test_roles_decide_what_a_person_sees(shared_web, user, path, status) -> None:
    assert shared_web.login(user).get(path).status_code == status


def test_anonymous_is_sent_to_login(shared_web) -> None:
    response = shared_web.client().get("/worklist/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


def test_security_headers(shared_web) -> None:
    response = shared_web.client().get("/")
    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Cache-Control"] == "no-store"
    client = shared_web.client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    login = client.post("/login", data={"username": "ivanova", "password": "demo12345", "csrf_token": token})
    assert "HttpOnly" in login.headers["Set-Cookie"] and "SameSite=Lax" in login.headers["Set-Cookie"]


def test_account_page_issues_and_revokes_tokens(web) -> None:
    client = web.login("operator1")
    page = client.post_form("/account", {"action": "issue", "name": "МИС"}).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert web.accounts.account_for_token(token).username == "operator1"
    token_id = web.accounts.tokens("operator1")[0]["id"]
    client.post_form("/account", {"action": "revoke", "token_id": str(token_id)})
    assert web.accounts.account_for_token(token) is None


def test_token_use_is_a_read_and_last_used_is_kept_to_the_minute(web) -> None:
    now = [datetime(2026, 5, 4, 9, 0, tzinfo=UTC)]
    accounts = Accounts(web.medflow.db, web.medflow.settings, now=lambda: now[0])
    token = accounts.issue_token("operator1", "МИС")
    last_used = lambda: accounts.tokens("operator1")[0]["last_used_at"]  # noqa: E731
    assert last_used() is None
    assert accounts.account_for_token(token).username == "operator1"
    assert last_used() == now[0]
    first = now[0]
    now[0] += timedelta(seconds=30)
    accounts.account_for_token(token)
    assert last_used() == first  # within the minute: no write
    now[0] += timedelta(seconds=31)
    accounts.account_for_token(token)
    assert last_used() == now[0]


def test_a_process_remembers_a_token_for_seconds_and_forgets_it_when_revoked(web) -> None:
    now = [datetime(2026, 5, 4, 9, 0, tzinfo=UTC)]
    clock = lambda: now[0]  # noqa: E731
    here = Accounts(web.medflow.db, web.medflow.settings, now=clock)
    there = Accounts(web.medflow.db, web.medflow.settings, now=clock)  # another web process
    token = here.issue_token("operator1", "МИС")
    assert here.account_for_token(token).username == there.account_for_token(token).username == "operator1"
    now[0] += timedelta(seconds=4)
    with recorded_statements(web.medflow.db) as statements:
        assert there.account_for_token(token).username == "operator1"
    assert statements == []  # within the 5 s of config.yaml: no database at all
    here.revoke_token("operator1", here.tokens("operator1")[0]["id"])
    assert here.account_for_token(token) is None  # the revoking process forgets at once
    assert there.account_for_token(token).username == "operator1"  # the documented delay elsewhere
    now[0] += timedelta(seconds=1)
    assert there.account_for_token(token) is None
    assert there.account_for_token(token) is None  # a refusal is not remembered as an account


def test_disabling_an_account_ends_its_cached_tokens_here_and_zero_seconds_turns_the_cache_off(web) -> None:
    accounts = Accounts(web.medflow.db, web.medflow.settings)
    token = accounts.issue_token("operator1", "МИС")
    assert accounts.account_for_token(token).username == "operator1"
    accounts.set_active("operator1", False)
    assert accounts.account_for_token(token) is None
    accounts.set_active("operator1", True)
    uncached = Accounts(web.medflow.db, web.medflow.settings.with_overrides({"web.token_cache_seconds": 0}))
    assert uncached.account_for_token(token).username == "operator1"
    with recorded_statements(web.medflow.db) as statements:
        uncached.account_for_token(token)
        uncached.account_for_token(token)
    assert sum("api_tokens" in s for s in statements) == 2


def test_the_token_cache_is_bounded_and_drops_expired_entries_first(web, monkeypatch) -> None:
    import engine.accounts

    monkeypatch.setattr(engine.accounts, "TOKEN_CACHE_ENTRIES", 2)
    now = [datetime(2026, 5, 4, 9, 0, tzinfo=UTC)]
    accounts = Accounts(web.medflow.db, web.medflow.settings, now=lambda: now[0])
    old, fresh, newest = (accounts.issue_token("operator1", f"МИС {i}") for i in range(3))
    accounts.account_for_token(old)
    now[0] += timedelta(seconds=6)  # past the 5 s of config.yaml
    accounts.account_for_token(fresh)
    accounts.account_for_token(newest)  # full: the expired entry goes, the live one stays
    assert set(accounts._token_cache) == {fresh, newest}


def test_password_change(web) -> None:
    client = web.login("ivanova")
    page = client.post_form("/account", {"action": "password", "current_password": "demo12345",
                                         "new_password": "short"}).get_data(as_text=True)
    assert "не короче 8 символов" in page
    same = client.post_form("/account", {"action": "password", "current_password": "demo12345",
                                         "new_password": "demo12345"}).get_data(as_text=True)
    assert "Новый пароль должен отличаться от текущего." in same
    elsewhere = web.login("ivanova")  # the same person on another device
    done = client.post_form("/account", {"action": "password", "current_password": "demo12345",
                                         "new_password": "newpass123"}).get_data(as_text=True)
    assert "Пароль изменён. Другие сеансы с прежним паролем завершены." in done
    assert web.accounts.authenticate("ivanova", "newpass123")
    assert client.get("/applications").status_code == 200  # this session goes on under the new password
    assert elsewhere.get("/applications").status_code == 302  # the one made with the old password ends


def test_cli_users_and_demo_seed(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from engine.cli.common import State
    from engine.cli.main import cli

    monkeypatch.setenv("MEDFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MEDFLOW_PATHS_DOCUMENTS", str(tmp_path / "docs"))
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], obj=State()).exit_code == 0
    seeded = runner.invoke(cli, ["demo", "seed"], obj=State())
    assert seeded.exit_code == 0, seeded.output
    assert "operator1" in seeded.output and "demo12345" in seeded.output and "МК-2026-000001" in seeded.output
    again = runner.invoke(cli, ["demo", "seed"], obj=State())
    assert "Созданы демо-заявления" not in again.output
    added = runner.invoke(cli, ["users", "add", "olga", "--role", "operator", "--group", "frmr_operators",
                                "--password", "pass12345"], obj=State())
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["users", "list", "--json"], obj=State())
    assert '"olga"' in listed.output and "frmr_operators" in listed.output
    # A page at a time by name, and by role: a region's applicants are hundreds of thousands.
    operators = json.loads(runner.invoke(cli, ["users", "list", "--role", "operator", "--json"], obj=State()).output)
    assert {r["role"] for r in operators} == {"operator"} and "olga" in [r["username"] for r in operators]
    first = runner.invoke(cli, ["users", "list", "--limit", "2"], obj=State()).output
    names = [line.split()[0] for line in first.splitlines()[:2]]
    assert names == sorted(names) and f"--after {names[1]}" in first
    rest = json.loads(runner.invoke(cli, ["users", "list", "--after", names[1], "--json"], obj=State()).output)
    everyone = json.loads(listed.output)
    assert names + [r["username"] for r in rest] == sorted(r["username"] for r in everyone)
    wrong = runner.invoke(cli, ["users", "list", "--role", "boss"], obj=State())
    assert wrong.exit_code == 2 and "boss" in wrong.output
    token = runner.invoke(cli, ["users", "token", "olga"], obj=State())
    assert token.output.startswith("mf_")
    moved = runner.invoke(cli, ["users", "set", "olga", "--group", "medbook_operators", "--group", "mfc_operators",
                                "--email", "olga@example.ru"], obj=State())
    assert moved.exit_code == 0 and "группы: medbook_operators, mfc_operators." in moved.output, moved.output
    wrong = runner.invoke(cli, ["users", "set", "olga", "--email", "olga", "--group", "a b"], obj=State())
    assert wrong.exit_code == 1 and "Traceback" not in wrong.output
    assert "  email: Адрес электронной почты" in wrong.output and "  groups: Группа «a b»" in wrong.output
    cleared = json.loads(runner.invoke(cli, ["users", "set", "olga", "--no-groups", "--email", "-", "--json"],
                                       obj=State()).output)
    assert (cleared["groups"], cleared["email"], cleared["role"]) == ([], None, "operator")


def test_a_groups_members_are_its_active_staff_whatever_the_number_of_applicants(web) -> None:
    """Read on every task page (hand over to): only the staff's rows are read, by the role index,
    so the applicants' accounts — a region's worth in production — cost nothing there."""
    from sqlalchemy import insert

    from engine.account_models import Account

    accounts = web.accounts
    accounts.create("op_new", "Пароль-надёжный-1", "Новикова Ольга", "operator", ["medbook_operators"])
    accounts.create("op_gone", "Пароль-надёжный-1", "Егорова Ирина", "operator", ["medbook_operators"])
    accounts.set_active("op_gone", False)
    accounts.create("boss", "Пароль-надёжный-1", "Козлова Юлия", "supervisor", ["medbook_operators", "frmr_operators"])
    now = datetime.now(UTC)
    with web.medflow.db.write() as session:  # an applicant never hands tasks over, whatever its row says
        session.execute(insert(Account), [dict(username=f"applicant{i}", full_name="Смирнова Анна", role="applicant",
                                               groups=["medbook_operators"] if i == 0 else [], password_hash="x",
                                               active=True, failed_logins=0, created_at=now) for i in range(500)])
    members = {a.username for a in accounts.group_members("medbook_operators")}
    assert {"op_new", "boss"} <= members and not members & {"op_gone", "applicant0"}
    assert {a.username for a in accounts.group_members("frmr_operators")} & {"boss"} == {"boss"}
