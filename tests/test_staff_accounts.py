"""Staff accounts managed by supervisors and admins (engine/staff.py, engine/account_rules.py):
who may give which role, what a profile may hold, every change audited with its old and new
value, a refusal that changes nothing, and the groups an editor offers. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from engine.account_rules import profile_errors
from engine.accounts import Accounts, LoginRefused
from engine.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from engine.models import AuditEvent
from engine.staff import add_member, edit_member, grantable_roles, known_groups, reset_password


@pytest.fixture
def accounts(medflow) -> Accounts:  # type: ignore[no-untyped-def]
    accounts = Accounts(medflow.db, medflow.settings, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    for name, role in (("boss", "supervisor"), ("root", "admin"), ("chief", "supervisor")):
        accounts.create(name, "pass12345", name.title(), role=role)
    accounts.create("olga", "pass12345", "Ольга", role="operator", groups=["operators"])
    accounts.create("ivanova", "pass12345", "Иванова", role="applicant")
    return accounts


def journal(medflow) -> list[tuple[str, str, str | None, str | None]]:  # type: ignore[no-untyped-def]
    with medflow.db.read() as session:
        rows = session.execute(select(AuditEvent.actor, AuditEvent.action, AuditEvent.old, AuditEvent.new)
                               .where(AuditEvent.instance_id.is_(None), AuditEvent.action.like("account_%"))
                               .order_by(AuditEvent.id)).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"full_name": "  "}, "full_name", "required"),
    ({"full_name": 5}, "full_name", "required"),
    ({"full_name": "я" * 301}, "full_name", "maxLength"),
    ({"email": "olga.example.ru"}, "email", "format"),
    ({"email": ["a@b.ru"]}, "email", "format"),
    ({"role": "root"}, "role", "enum"),
    ({"groups": "operators"}, "groups", "type"),
    ({"groups": ["operators", 7]}, "groups", "type"),
    ({"groups": ["front desk"]}, "groups", "format"),
    ({"groups": [f"g{i}" for i in range(51)]}, "groups", "maxItems"),
    ({"groups": ["operators", "applicants"]}, "groups", "applicants"),  # the applicants' own tasks
])
def test_a_profile_field_that_does_not_pass_is_named(fields, field, code) -> None:
    assert [(e["field"], e["code"]) for e in profile_errors(fields)] == [(field, code)]


def test_a_well_formed_profile_passes() -> None:
    assert profile_errors({"full_name": "Ольга Петровна", "email": "olga@example.ru", "role": "operator",
                           "groups": ["medbook_operators", "mfc-2", "регистратура"]}) == []
    assert profile_errors({"email": None}) == []  # no e-mail: no notices, not an error


def test_who_may_give_which_role(accounts) -> None:
    assert grantable_roles(accounts.find("root")) == ("operator", "analyst", "supervisor", "admin")
    assert grantable_roles(accounts.find("boss")) == ("operator", "analyst")
    assert grantable_roles(accounts.find("olga")) == ()


def test_a_supervisor_adds_an_operator_and_the_journal_says_who(medflow, accounts) -> None:
    made = add_member(accounts, accounts.find("boss"), {
        "username": "nina", "password": "first-pass1", "full_name": "Нина Новая", "email": "nina@example.ru",
        "role": "operator", "groups": ["operators", "clerks", "operators"]})
    assert (made.role, made.groups, made.email, made.active) == ("operator", ("operators", "clerks"),
                                                                 "nina@example.ru", True)
    assert accounts.authenticate("nina", "first-pass1").password_temporary  # hers to replace at first login
    with pytest.raises(Conflict):  # nor may anyone mint a token with it, not even from the CLI
        accounts.issue_token("nina", "МИС", actor="cli")
    accounts.set_password("nina", "own-pass-9", actor="nina")
    assert not accounts.find("nina").password_temporary
    assert ("boss", "account_created", None, "nina (operator)") in journal(medflow)


@pytest.mark.parametrize(("fields", "fields_refused"), [
    ({"username": "nina", "password": "short", "full_name": "", "role": "operator"}, {"password", "full_name"}),
    ({"username": "ни на", "password": "first-pass1", "full_name": "Нина", "role": "operator",
      "groups": ["a b"]}, {"username", "groups"}),
    ({"username": "nina", "password": "first-pass1", "full_name": "Нина", "role": "supervisor"}, {"role"}),
    ({"username": 12, "password": 12345678, "full_name": "Нина", "role": "operator"}, {"username", "password"}),
])
def test_a_refused_new_account_names_its_fields_and_creates_nothing(medflow, accounts, fields,
                                                                     fields_refused) -> None:
    before = journal(medflow)
    with pytest.raises(ValidationFailed) as refused:
        add_member(accounts, accounts.find("boss"), fields)
    assert {e["field"] for e in refused.value.errors} == fields_refused
    assert accounts.find("nina") is None and journal(medflow) == before


def test_a_taken_username_is_a_conflict(accounts) -> None:
    with pytest.raises(Conflict):
        add_member(accounts, accounts.find("root"), {"username": "olga", "password": "first-pass1",
                                                      "full_name": "Другая Ольга", "role": "operator"})
    assert accounts.find("olga").full_name == "Ольга"


def test_an_edit_changes_what_it_names_and_journals_each_change_with_its_old_value(medflow, accounts) -> None:
    changed = edit_member(accounts, accounts.find("boss"), "olga", {
        "full_name": " Ольга Петровна ", "email": "olga@example.ru", "role": "operator", "groups": ["clerks"]})
    assert (changed.full_name, changed.email, changed.groups) == ("Ольга Петровна", "olga@example.ru", ("clerks",))
    entries = [entry for entry in journal(medflow) if entry[1] != "account_created"]
    assert entries == [("boss", "account_full_name_changed", "olga: Ольга", "Ольга Петровна"),
                       ("boss", "account_email_changed", "olga: —", "olga@example.ru"),
                       ("boss", "account_groups_changed", "olga: operators", "clerks")]  # the role did not change


def test_a_refused_edit_changes_nothing(medflow, accounts) -> None:
    before = journal(medflow)
    with pytest.raises(ValidationFailed) as refused:
        edit_member(accounts, accounts.find("boss"), "olga", {"full_name": "Ольга П.", "groups": ["a b"]})
    assert [e["field"] for e in refused.value.errors] == ["groups"]
    with pytest.raises(ValidationFailed) as refused:
        edit_member(accounts, accounts.find("boss"), "olga", {"password_hash": "x", "active": False})
    assert [e["field"] for e in refused.value.errors] == ["active", "password_hash"]
    with pytest.raises(ValidationFailed) as refused:  # a supervisor does not make admins
        edit_member(accounts, accounts.find("boss"), "olga", {"role": "admin"})
    assert [e["field"] for e in refused.value.errors] == ["role"]
    olga = accounts.find("olga")
    assert (olga.full_name, olga.role, olga.groups, olga.active) == ("Ольга", "operator", ("operators",), True)
    assert journal(medflow) == before


def test_whom_one_may_edit(accounts) -> None:
    boss = accounts.find("boss")
    with pytest.raises(NotAllowed):
        edit_member(accounts, boss, "chief", {"full_name": "Другой"})  # another supervisor
    with pytest.raises(NotAllowed):
        edit_member(accounts, boss, "boss", {"role": "admin"})  # nobody edits their own role
    with pytest.raises(NotFound):
        edit_member(accounts, boss, "ivanova", {"full_name": "Иванова А."})  # applicants are not staff
    assert edit_member(accounts, accounts.find("root"), "chief", {"role": "admin"}).role == "admin"


def test_a_new_password_lifts_the_login_lock(medflow, accounts) -> None:
    for _ in range(accounts.max_failures):
        with pytest.raises(LoginRefused):
            accounts.authenticate("olga", "wrong-pass1")
    assert accounts.find("olga").locked_until is not None
    with pytest.raises(ValidationFailed):
        reset_password(accounts, accounts.find("boss"), "olga", "12345678")
    stamp = accounts.find("olga").session_stamp
    reset_password(accounts, accounts.find("boss"), "olga", "new-pass-2")
    olga = accounts.authenticate("olga", "new-pass-2")
    assert olga.password_temporary and olga.session_stamp != stamp  # her web sessions end
    assert ("boss", "password_changed") in [(actor, action) for actor, action, *_ in _all(medflow)]
    with pytest.raises(NotAllowed):
        reset_password(accounts, accounts.find("boss"), "root", "new-pass-2")


def _all(medflow) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with medflow.db.read() as session:
        return [tuple(r) for r in session.execute(select(AuditEvent.actor, AuditEvent.action)
                                                  .where(AuditEvent.instance_id.is_(None)))]


def test_the_groups_offered_are_the_deployed_diagrams_and_the_staffs(medflow, accounts) -> None:
    # review_loop's lane «operators», timers' candidateGroups «clerks»; «front» is someone's already.
    accounts.create("pavel", "pass12345", "Павел", role="operator", groups=["front"])
    assert known_groups(medflow, accounts.staff()) == ["clerks", "front", "operators"]


def test_a_given_password_left_unchanged_expires(medflow, accounts) -> None:
    from datetime import UTC, datetime, timedelta

    today = [datetime(2026, 5, 4, 9, tzinfo=UTC)]
    clocked = Accounts(medflow.db, medflow.settings, now=lambda: today[0], hasher=accounts.hasher)
    reset_password(clocked, accounts.find("boss"), "olga", "given-pass1")
    today[0] += timedelta(days=6)
    assert clocked.authenticate("olga", "given-pass1").password_temporary  # within web.temporary_password_days
    today[0] += timedelta(days=2)
    with pytest.raises(LoginRefused) as refused:
        clocked.authenticate("olga", "given-pass1")
    assert refused.value.message == ("Выданный пароль больше не действует: его не сменили вовремя. Попросите "
                                     "руководителя задать новый")
    assert ("olga", "login_refused_expired") in _all(medflow)
    reset_password(clocked, accounts.find("boss"), "olga", "given-pass2")  # a new one starts afresh
    clocked.set_password("olga", "her-own-pass3", actor="olga")
    today[0] += timedelta(days=365)
    assert not clocked.authenticate("olga", "her-own-pass3").password_temporary  # her own never expires
