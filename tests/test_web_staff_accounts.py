"""The staff page's account editor (`/monitor/staff/new`, `…/<username>/edit`, `…/password`): a new
operator who then logs in, an edit of name, e-mail, role and groups, a password reset that lifts
the login lock; refusals as 422 at their fields with the form kept and nothing changed; who may
edit whom. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import pytest

from engine.accounts import LoginRefused
from tests.test_web_staff import flashed, row
from tests.web_harness import staff_web

PAGE = "/monitor/staff"
NINA = {"username": "nina", "full_name": "Нина Новая", "email": "nina@example.ru", "role": "operator",
        "groups": ["operators"], "other_groups": "front-2", "password": "first-pass1", "password_again": "first-pass1"}


@pytest.fixture
def web(medflow):  # type: ignore[no-untyped-def]
    return staff_web(medflow)


def field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="f-{field}-error">([^<]*)</p>', page)
    assert found, f"no error at {field}"
    return found.group(1)


def test_a_supervisor_adds_an_operator_who_then_works_the_groups_queue(web) -> None:
    supervisor = web.login("supervisor")
    form = supervisor.get(f"{PAGE}/new").get_data(as_text=True)
    # The groups the deployed diagrams give tasks to (clerks, operators) and those staff have: «front»
    # is pavel's, the others the demo accounts'.
    offered = re.findall(r'name="groups" value="([^"]+)"', form)
    staff_groups = {g for p in web.accounts.staff() for g in p.groups}
    assert offered == sorted({"clerks", "operators"} | staff_groups) and "front" in offered
    assert re.findall(r'<option value="(\w+)"', form) == ["operator", "analyst"]  # what a supervisor may give
    done = supervisor.post_form(f"{PAGE}/new", NINA, follow_redirects=True)
    assert "Учётная запись nina создана. Сообщите сотруднику пароль лично." in flashed(done)
    assert "пароль выдан, ещё не сменён" in row(done.get_data(as_text=True), "nina")
    nina = web.accounts.find("nina")
    assert (nina.full_name, nina.email, nina.role, nina.groups) == ("Нина Новая", "nina@example.ru", "operator",
                                                                   ("operators", "front-2"))
    # The first password is the supervisor's: it opens only the account page, to set her own.
    nina = web.login("nina", "first-pass1")
    sent_on = nina.get("/worklist/")
    assert sent_on.status_code == 302 and sent_on.headers["Location"].endswith("/account")
    assert 'id="temporary-password"' in nina.get("/account").get_data(as_text=True)
    refused = nina.post_form("/account", {"action": "issue", "name": "МИС"}).get_data(as_text=True)
    assert "Сначала задайте свой пароль" in refused and 'id="new-token"' not in refused
    assert web.accounts.tokens("nina") == []
    own = nina.post_form("/account", {"action": "password", "current_password": "first-pass1",
                                      "new_password": "own-pass-9"})
    assert own.status_code == 302 and own.headers["Location"].endswith("/worklist/")
    assert nina.get("/worklist/").status_code == 200 and not web.accounts.find("nina").password_temporary
    assert "ещё не сменён" not in row(web.login("supervisor").get(PAGE).get_data(as_text=True), "nina")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"username": "olga"}, "username", "Пользователь olga уже существует"),
    ({"username": "ни на"}, "username", "Имя пользователя: буквы, цифры, «_» и «.», не длиннее 100 символов"),
    ({"password_again": "other-pass1"}, "password_again", "Пароли не совпадают"),
    ({"password": "short", "password_again": "short"}, "password", "Пароль должен быть не короче 8 символов"),
    ({"email": "nina.example.ru"}, "email", "Адрес электронной почты в виде имя@домен.ru"),
    ({"full_name": " "}, "full_name", "Укажите фамилию, имя и отчество"),
    ({"other_groups": "front+2"}, "groups", "Группа «front+2»: буквы, цифры, «_», «-» и «.»"),
    ({"role": "admin"}, "role", "Руководитель назначает роли «оператор» и «аналитик»; другие роли — администратор. "
                                "Запрошено: admin"),
])
def test_a_refused_new_account_is_422_at_its_field_keeps_the_form_and_creates_nothing(web, changes, field,
                                                                                       message) -> None:
    before = [p.username for p in web.accounts.staff()]
    response = web.login("supervisor").post_form(f"{PAGE}/new", {**NINA, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and field_error(page, field) == message
    assert 'id="form-errors"' in page and "Учётная запись не создана" in page
    assert 'value="Нина Новая"' in page or field == "full_name"  # what was typed stays
    assert 'value="first-pass1"' not in page  # a password is never sent back
    assert [p.username for p in web.accounts.staff()] == before


def test_an_edit_changes_name_email_role_and_groups(web) -> None:
    supervisor = web.login("supervisor")
    form = supervisor.get(f"{PAGE}/olga/edit").get_data(as_text=True)
    assert 'value="Ольга Уходящая"' in form and re.search(r'value="operators" checked', form)
    done = supervisor.post_form(f"{PAGE}/olga/edit", {"full_name": "Ольга Петровна", "email": "olga@example.ru",
                                                      "role": "operator", "groups": ["clerks", "operators"]},
                                follow_redirects=True)
    assert flashed(done) == ["Учётная запись olga изменена."]
    olga = web.accounts.find("olga")
    assert (olga.full_name, olga.email, olga.groups) == ("Ольга Петровна", "olga@example.ru", ("clerks", "operators"))


def test_a_role_that_cannot_work_tasks_is_warned_of_the_tasks_left(web) -> None:
    done = web.login("supervisor").post_form(f"{PAGE}/olga/edit", {"full_name": "Ольга Уходящая", "role": "analyst",
                                                                   "groups": ["operators"]}, follow_redirects=True)
    assert ("У olga осталось открытых задач: 1; с новой ролью их не выполнить. Передайте их коллегам в карточках "
            "задач.") in flashed(done)
    assert web.accounts.find("olga").role == "analyst"


def test_a_refused_edit_is_422_and_changes_nothing(web) -> None:
    response = web.login("supervisor").post_form(f"{PAGE}/olga/edit", {
        "full_name": "Ольга П.", "email": "olga@", "role": "operator", "groups": ["operators"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Изменения не сохранены" in page
    assert field_error(page, "email") == "Адрес электронной почты в виде имя@домен.ru"
    assert 'value="Ольга П."' in page
    olga = web.accounts.find("olga")
    assert (olga.full_name, olga.email) == ("Ольга Уходящая", None)


def test_a_password_reset_lifts_the_lock_ends_the_sessions_and_holds_until_the_persons_own(web) -> None:
    session_before = web.login("olga", "pass12345")
    for _ in range(web.accounts.max_failures):
        with pytest.raises(LoginRefused):
            web.accounts.authenticate("olga", "wrong-pass1")
    assert web.accounts.find("olga").locked_until is not None
    supervisor = web.login("supervisor")
    mismatch = supervisor.post_form(f"{PAGE}/olga/password", {"password": "new-pass-2", "password_again": "new-pass-3"})
    assert mismatch.status_code == 422 and field_error(mismatch.get_data(as_text=True), "password_again")
    done = supervisor.post_form(f"{PAGE}/olga/password", {"password": "new-pass-2", "password_again": "new-pass-2"},
                                follow_redirects=True)
    assert "Пароль olga изменён, блокировка входа снята. Сообщите сотруднику пароль лично." in flashed(done)
    assert session_before.get("/worklist/").status_code == 302  # whoever held her password is out
    with pytest.raises(AssertionError):
        web.login("olga", "pass12345")
    olga = web.login("olga", "new-pass-2")
    assert olga.get("/worklist/").headers["Location"].endswith("/account")  # the supervisor's password
    olga.post_form("/account", {"action": "password", "current_password": "new-pass-2", "new_password": "her-own-3"})
    assert olga.get("/worklist/").status_code == 200


def test_who_may_edit_whom(web) -> None:
    supervisor = web.login("supervisor")
    page = supervisor.get(PAGE).get_data(as_text=True)
    assert 'id="edit-olga"' in page and 'id="edit-admin"' not in page and 'id="edit-supervisor"' not in page
    assert supervisor.get(f"{PAGE}/admin/edit").status_code == 403
    assert supervisor.get(f"{PAGE}/supervisor/edit").status_code == 403  # not oneself
    assert supervisor.post_form(f"{PAGE}/admin/password", {"password": "x1234567", "password_again": "x1234567"}
                                ).status_code == 403
    assert supervisor.get(f"{PAGE}/ivanova/edit").status_code == 404  # applicants are not staff
    assert supervisor.get(f"{PAGE}/nobody/edit").status_code == 404
    operator = web.login("oleg", "pass12345")
    assert operator.get(f"{PAGE}/new").status_code == 403
    assert operator.post_form(f"{PAGE}/new", NINA).status_code == 403
    assert web.accounts.find("nina") is None
    admin = web.login("admin")
    assert re.findall(r'<option value="(\w+)"', admin.get(f"{PAGE}/new").get_data(as_text=True)) == [
        "operator", "analyst", "supervisor", "admin"]
    assert admin.post_form(f"{PAGE}/supervisor/edit", {"full_name": "Руководитель", "role": "admin"}).status_code == 302
    assert web.accounts.find("supervisor").role == "admin"


def test_a_form_without_its_csrf_token_is_refused(web) -> None:
    response = web.login("supervisor").post(f"{PAGE}/new", data=NINA)
    assert response.status_code == 400 and web.accounts.find("nina") is None
