"""The `medflow` command as a person or a script uses it: real processes, real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import DIAGRAMS, TESTS

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "miwg-reference"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MEDFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "MEDFLOW_CLOCK": "simulated",
        "MEDFLOW_PATHS_FORMS": str(TESTS / "forms"),
        "MEDFLOW_HANDLERS_MODULES": "[handlers, tests.engine_test_handlers]",
    }


def test_lint_clean_and_broken_files(env, tmp_path):
    clean = run(["lint", str(DIAGRAMS / "review_loop.bpmn")], env)
    assert clean.returncode == 0, clean.stderr
    broken = tmp_path / "broken.bpmn"
    broken.write_text((DIAGRAMS / "review_loop.bpmn").read_text().replace('id="test_issue"', 'id="no_handler"'))
    result = run(["lint", str(broken)], env)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if "no_handler" in x)
    file, lineno, element, _ = line.split(":", 3)
    assert file.endswith("broken.bpmn") and int(lineno) > 0 and element.strip() == "issue"
    assert "Traceback" not in result.stdout + result.stderr


def test_lint_every_conformance_file_without_a_crash(env):
    files = sorted(CONFORMANCE.glob("*.bpmn"))
    assert len(files) >= 20
    result = run(["lint", "--json", *map(str, files)], env)
    assert result.returncode in (0, 1)
    assert "Traceback" not in result.stderr
    problems = json.loads(result.stdout)["problems"]
    assert all(p["file"] and p["message"] for p in problems)


def test_deploy_start_complete_and_errors(env):
    deployed = run(["deploy", "--json", str(DIAGRAMS)], env)
    assert deployed.returncode == 0, deployed.stderr
    versions = {d["process_key"]: d["version"] for d in json.loads(deployed.stdout)}
    assert versions["review_loop"] == 1
    again = json.loads(run(["deploy", "--json", str(DIAGRAMS)], env).stdout)
    assert all(not d["created"] for d in again)

    started = json.loads(run(["start", "review_loop", "--data", '{"applicant_name": "Иванов"}', "--json"], env).stdout)
    key = started["business_key"]
    tasks = json.loads(run(["tasks", "--group", "operators", "--json"], env).stdout)
    (task,) = tasks
    bad = run(["complete", task["id"], "--data", '{"decision": "nope"}', "--user", "op"], env)
    assert bad.returncode == 1 and "decision" in bad.stderr and "Traceback" not in bad.stderr
    assert run(["claim", task["id"], "--user", "op"], env).returncode == 0
    other = run(["complete", task["id"], "--data", '{"decision": "approve"}', "--user", "sidorov"], env)
    assert other.returncode == 1 and "op" in other.stderr
    ok = run(["complete", task["id"], "--data", '{"decision": "approve"}', "--user", "op"], env)
    assert ok.returncode == 0, ok.stderr
    inst = json.loads(run(["instance", key, "--json"], env).stdout)
    assert inst["status"] == "completed"
    again = run(["complete", task["id"], "--data", '{"decision": "approve"}', "--user", "op", "--json"], env)
    assert again.returncode == 1 and json.loads(again.stdout)["error"] == "conflict"

    unknown = run(["start", "nope"], env)
    assert unknown.returncode == 1 and "не развёрнут" in unknown.stderr
    unmatched = run(["message", "resubmit", "--key", key], env)
    assert unmatched.returncode == 1 and "несопоставленное" in unmatched.stderr
    garbage = run(["start", "review_loop", "--data", "{oops"], env)
    assert garbage.returncode == 2 and "JSON" in garbage.stderr


def test_clock_and_calendar(env):
    assert run(["clock", "set", "2026-05-01T09:00+03:00"], env).returncode == 0
    advanced = json.loads(run(["clock", "advance", "11d", "--json"], env).stdout)
    assert advanced["now"] == "2026-05-12T06:00:00+00:00"
    wrong = run(["clock", "advance", "eleven"], env)
    assert wrong.returncode == 2 and "d (дни)" in wrong.stderr
    real = run(["clock", "advance", "1d"], {**env, "MEDFLOW_CLOCK": "real"})
    assert real.returncode == 2 and "simulated" in real.stderr
    production = run(["clock"], {**env, "MEDFLOW_MODE": "production"})
    assert production.returncode == 1 and "production" in production.stderr
    result = run(["calendar", "add-working-days", "2026-04-30", "10"], env)
    assert result.stdout.strip() == "2026-05-18"
    negative = run(["calendar", "add-working-days", "2026-04-30", "-1"], env)
    assert negative.returncode == 2


def test_unreachable_database_is_a_clear_message(env):
    result = run(["instances"], {**env, "MEDFLOW_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert "База данных недоступна" in result.stderr and "Traceback" not in result.stderr


def test_medflow_test_runs_scenarios_and_fails_on_a_broken_one(tmp_path):
    scenarios = Path(__file__).resolve().parents[1] / "processes" / "scenarios"
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        (scenarios / "medbook_wrong_file_type.yaml").read_text(encoding="utf-8").replace(
            "Заявление требует исправления", "Услуга оказана", 1),
        encoding="utf-8",
    )
    env = {"MEDFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}
    good = run(["test", str(scenarios / "medbook_wrong_file_type.yaml")], env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "1 пройдено, 0 не пройдено" in good.stdout
    bad = run(["test", str(broken)], env)
    assert bad.returncode == 1
    assert "✗" in bad.stdout and "0 пройдено, 1 не пройдено" in bad.stdout


@pytest.fixture
def outage(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The CLI's engine with three real incidents: registry calls that failed with no retries left."""
    from engine.cli.common import State
    from engine.definitions import collect_files
    from tests import engine_test_handlers

    for name, value in {"MEDFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "MEDFLOW_CLOCK": "simulated",
                        "MEDFLOW_PATHS_FORMS": str(TESTS / "forms"), "MEDFLOW_RETRY_DELAYS": "[]",
                        "MEDFLOW_HANDLERS_MODULES": "[handlers, tests.engine_test_handlers]"}.items():
        monkeypatch.setenv(name, value)
    state = State()
    state.medflow.definitions.deploy(collect_files([DIAGRAMS]))
    for i in range(3):  # each fails once with no retries left: an incident at once
        monkeypatch.setitem(engine_test_handlers.FLAKY_FAILURES, f"out{i}", 1)
        state.medflow.runtime.start("flaky_call", {"key": f"out{i}"})
    yield state
    state.medflow.db.dispose()


def test_incidents_come_a_page_at_a_time_and_retry(outage):
    """A registry outage opens thousands of incidents: the list pages by number."""
    from click.testing import CliRunner

    from engine.cli.main import cli

    state = outage
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["incidents", "--json"], obj=state).output)
    assert [i["element_id"] for i in listed] == ["call"] * 3
    first = runner.invoke(cli, ["incidents", "--limit", "2"], obj=state).output
    assert f"--after {listed[1]['id']}" in first and "реестр не отвечает" in first
    rest = json.loads(runner.invoke(cli, ["incidents", "--after", str(listed[1]["id"]), "--json"], obj=state).output)
    assert [i["id"] for i in rest] == [listed[2]["id"]]
    retried = runner.invoke(cli, ["incidents", "retry", str(listed[2]["id"])], obj=state)
    assert retried.exit_code == 0 and "completed" in retried.output, retried.output
    assert len(json.loads(runner.invoke(cli, ["incidents", "--json"], obj=state).output)) == 2
    assert runner.invoke(cli, ["incidents", "--limit", "0"], obj=state).exit_code == 2


def test_incidents_of_an_outage_are_counted_grouped_and_retried_as_one(outage):
    from click.testing import CliRunner

    from engine.cli.main import cli
    from engine.worker import Worker

    state = outage
    runner = CliRunner()
    assert len(json.loads(runner.invoke(cli, ["incidents", "--process", "flaky_call", "--json"], obj=state).output)) == 3
    assert runner.invoke(cli, ["incidents", "--element", "elsewhere"], obj=state).output.strip() == "Открытых инцидентов нет."
    groups = runner.invoke(cli, ["incidents", "groups"], obj=state).output
    assert "3  flaky_call / call / test_flaky" in groups and "реестр не отвечает" in groups
    dry = runner.invoke(cli, ["incidents", "retry-all", "--handler", "test_flaky", "--dry-run"], obj=state)
    assert "Подходит открытых инцидентов: 3" in dry.output
    bad = runner.invoke(cli, ["incidents", "retry-all", "--per-second", "0"], obj=state)
    assert bad.exit_code == 2 and state.medflow.queries.open_incident_count() == 3
    done = runner.invoke(cli, ["incidents", "retry-all", "--process", "flaky_call", "--per-second", "2",
                               "--user", "ops"], obj=state)
    assert done.exit_code == 0, done.output
    # Three at 2 per second from the simulated clock's now, in the engine's time zone.
    now = state.medflow.clock.now().astimezone(ZoneInfo("Europe/Moscow"))
    assert (f"Повтор запланирован: 3 шагов, с {now:%d.%m.%Y %H:%M:%S} по "
            f"{now + timedelta(seconds=1):%d.%m.%Y %H:%M:%S} (Europe/Moscow)") in done.output, done.output
    assert runner.invoke(cli, ["incidents"], obj=state).output.strip() == "Открытых инцидентов нет."
    state.medflow.clock.advance(timedelta(seconds=2))
    assert Worker(state.medflow, "w1").tick().fired == 3
    assert {i["status"] for i in state.medflow.queries.instances(process_key="flaky_call")} == {"completed"}
