"""The security journal for admins (`/monitor/security`, `GET /api/v1/security-events`): logins,
lockouts and account changes newest first, in Russian on the page and as JSON in the API, a page at
a time by id; nobody but an admin reads it. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from engine.accounts import LoginRefused
from engine.staff import edit_member
from tests.web_harness import staff_web

PAGE = "/monitor/security"


@pytest.fixture
def web(medflow):  # type: ignore[no-untyped-def]
    return staff_web(medflow)


def rows(page: str) -> list[tuple[str, str, str]]:
    """(who, event, details) of each row, top first."""
    found = re.findall(r'<td data-label="Кто">([^<]*)</td>\s*<td data-label="Событие">([^<]*)</td>\s*'
                       r'<td data-label="Подробности">([^<]*)</td>', page)
    return [(who, event, details.strip()) for who, event, details in found]


def test_an_admin_reads_who_changed_what_and_who_failed_to_log_in(web) -> None:
    with pytest.raises(LoginRefused):
        web.accounts.authenticate("olga", "wrong-pass1")
    edit_member(web.accounts, web.accounts.find("supervisor"), "olga", {"role": "analyst", "groups": []})
    page = web.login("admin").get(PAGE).get_data(as_text=True)
    assert rows(page)[:4] == [("admin", "Вход", ""),
                              ("supervisor", "Изменены группы", "olga: operators → —"),
                              ("supervisor", "Изменена роль", "olga: operator → analyst"),
                              ("olga", "Неудачный вход", "1")]


def test_the_journal_comes_a_page_at_a_time(web) -> None:
    for _ in range(3):
        with pytest.raises(LoginRefused):
            web.accounts.authenticate("nobody", "x")
    client, headers = web.client(), web.token("admin")
    first = client.get("/api/v1/security-events?limit=2", headers=headers)
    assert first.status_code == 200 and len(first.json) == 2
    assert [e["action"] for e in first.json] == ["token_issued", "login_failed"]
    after = first.headers["X-Next-Before-Id"]
    second = client.get(f"/api/v1/security-events?limit=2&before_id={after}", headers=headers).json
    assert [e["id"] for e in second] == sorted((e["id"] for e in second), reverse=True)
    assert max(e["id"] for e in second) < min(e["id"] for e in first.json)  # no event twice, none skipped
    everything = client.get("/api/v1/security-events?limit=1000", headers=headers).json
    assert [e["id"] for e in everything[:4]] == [e["id"] for e in first.json + second]
    page = web.login("admin").get(f"{PAGE}?limit=1").get_data(as_text=True)
    assert len(rows(page)) == 1 and 'id="events-next"' in page


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "before_id=-1"])
def test_a_wrong_page_argument_is_refused_by_field(web, query) -> None:
    answer = web.client().get(f"/api/v1/security-events?{query}", headers=web.token("admin"))
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == query.split("=")[0]
    page = web.login("admin").get(f"{PAGE}?{query}")
    assert page.status_code == 422 and 'id="form-errors"' in page.get_data(as_text=True)


def test_only_an_admin_reads_the_journal(web) -> None:
    assert web.login("supervisor").get(PAGE).status_code == 403
    assert web.client().get("/api/v1/security-events", headers=web.token("supervisor")).status_code == 403
    assert 'id="security-link"' not in web.login("supervisor").get("/monitor/staff").get_data(as_text=True)
    assert 'id="security-link"' in web.login("admin").get("/monitor/staff").get_data(as_text=True)
