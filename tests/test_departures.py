"""`medflow users disable`: someone leaves; their account is disabled, their open tasks go to a
colleague or back to their groups' queues, and the substitutions they were part of end. On both
databases."""

from __future__ import annotations

import json

from click.testing import CliRunner

from engine.accounts import Accounts
from engine.cli.common import State
from engine.cli.main import cli
from engine.definitions import collect_files
from tests.conftest import DIAGRAMS
from tests.test_cli import env  # noqa: F401  (a fixture of the state fixture)
from tests.test_cli_substitutions import state  # noqa: F401  (operator1..3 in group «operators»)


def _users(state: State, *args: str):  # type: ignore[no-untyped-def]  # noqa: F811
    return CliRunner().invoke(cli, ["users", *args], obj=state)


def _claimed_tasks(state: State, user: str, n: int) -> list[str]:  # noqa: F811
    medflow = state.medflow
    medflow.definitions.deploy(collect_files([DIAGRAMS]))
    ids = [medflow.runtime.start("review_loop", {"applicant_name": "А"})["open_tasks"][0]["id"] for _ in range(n)]
    for task_id in ids:
        medflow.runtime.claim(task_id, user)
    return ids


def test_a_leaving_operators_tasks_go_back_to_their_queues_and_their_deputyship_ends(state) -> None:  # noqa: F811
    medflow = state.medflow
    tasks = _claimed_tasks(state, "operator1", 3)
    medflow.runtime.complete(tasks[2], {"decision": "approve"}, user="operator1")
    deputyship = medflow.substitutions.add("operator2", "operator1", "30.04.2026", "08.05.2026", actor="boss")

    result = _users(state, "disable", "operator1", "--actor", "admin")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Учётная запись operator1 отключена. Открытых задач передано в очереди их групп: 2.",
        f"Отменено замещение #{deputyship.id}: operator1 за operator2, 30.04.2026–08.05.2026 — "
        "назначьте operator2 другого заместителя"]
    assert [medflow.queries.task(t)["assignee"] for t in tasks[:2]] == [None, None]
    assert medflow.queries.task(tasks[2])["completed_by"] == "operator1"  # history stays as it was
    assert medflow.substitutions.current() == []
    assert not Accounts(medflow.db, medflow.settings).find("operator1").active
    unclaimed = [e for e in medflow.queries.history(medflow.queries.task(tasks[0])["business_key"])
                 if e["action"] == "task_unclaimed"]
    assert [(e["actor"], e["old"]) for e in unclaimed] == [("admin", "operator1")]


def test_a_leaving_operators_tasks_go_to_a_named_colleague(state) -> None:  # noqa: F811
    tasks = _claimed_tasks(state, "operator1", 2)
    result = _users(state, "disable", "operator1", "--to", "operator3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"username": "operator1", "hand_over_to": "operator3", "tasks_moved": 2,
                                         "substitutions_cancelled": []}
    assert {state.medflow.queries.task(t)["assignee"] for t in tasks} == {"operator3"}
    again = _users(state, "enable", "operator1")
    assert again.exit_code == 0 and Accounts(state.medflow.db, state.medflow.settings).find("operator1").active


def test_a_bad_colleague_changes_nothing(state) -> None:  # noqa: F811
    tasks = _claimed_tasks(state, "operator1", 1)
    for target, text in (("operator1", "самому себе"), ("nobody", "нет действующего сотрудника nobody"),
                         ("applicant1", "не работает с задачами")):
        result = _users(state, "disable", "operator1", "--to", target)
        assert result.exit_code == 1 and text in result.stderr, result.output
    assert state.medflow.queries.task(tasks[0])["assignee"] == "operator1"
    assert Accounts(state.medflow.db, state.medflow.settings).find("operator1").active
    missing = _users(state, "disable", "nobody")
    assert missing.exit_code == 1 and "не найден" in missing.stderr
