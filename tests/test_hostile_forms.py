"""Hostile form data, fuzzed with hypothesis, against every form schema and through `runtime.complete`.

`validate_form` must answer with field errors only — never raise, never take long, never fall
back to its "the form could not be checked" answer (that fallback is for broken schemas, and
these schemas are fine). `runtime.complete` must either accept the data or raise ValidationFailed
and leave the instance exactly as it was.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ValidationFailed
from engine.forms import FieldError, validate_form
from tests.faults.facts import instance_versions, table_counts
from tests.faults.junk import FUZZ, HUGE_STRINGS, form_data
from tests.faults.soak import require_soak
from tests.medflow_harness import PROJECT, deploy_processes, make_medflow

SCHEMAS = sorted([*(PROJECT / "forms").glob("*.schema.json"), PROJECT / "tests" / "forms" / "test_review.schema.json"])
SLOW_SECONDS = 2.0  # one validation of one form post; a quadratic check on a 1 MB string shows here
CASES: dict[str, int] = {}  # cases tried per test, printed for the README's reliability figures


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _check_answer(errors: object, started: float) -> None:
    assert isinstance(errors, list) and all(isinstance(e, FieldError) for e in errors)
    for error in errors:
        assert isinstance(error.field, str) and isinstance(error.code, str)
        assert isinstance(error.message, str) and error.message.strip()
        assert error.code != "schema", f"validation crashed on the data: {error}"
    assert time.monotonic() - started < SLOW_SECONDS, f"validation took {time.monotonic() - started:.1f}s"


def _fuzz_schema(path: Path, examples: int) -> None:
    schema = _load(path)

    @settings(FUZZ, max_examples=examples)
    @given(data=form_data(schema))
    def run(data: object) -> None:
        CASES[path.name] = CASES.get(path.name, 0) + 1
        started = time.monotonic()
        _check_answer(validate_form(schema, data), started)

    run()


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.name.removesuffix(".schema.json") for p in SCHEMAS])
def test_validate_form_answers_junk_with_field_errors_only(path: Path):
    _fuzz_schema(path, 150)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_soak_form_fuzz_thousands_per_schema(request):
    require_soak(request)
    for path in SCHEMAS:
        _fuzz_schema(path, 2000)
    print("form fuzz cases:", CASES)


def test_validate_form_survives_deep_nesting_and_huge_values():
    schema = _load(PROJECT / "forms" / "medbook_application.schema.json")
    deep: object = "x"
    for _ in range(5000):
        deep = {"applicant": deep}
    started = time.monotonic()
    _check_answer(validate_form(schema, deep), started)
    wide = {f"field_{n}": n for n in range(20_000)}
    started = time.monotonic()
    _check_answer(validate_form(schema, wide), started)
    for text in HUGE_STRINGS:
        started = time.monotonic()
        _check_answer(validate_form(schema, {"applicant": {"snils": text, "last_name": text}}), started)


# --- through the engine -------------------------------------------------------------------------

REAL_FORMS = ["medbook_issuance", "clinician_registration", "qualification_confirmation", "accreditation"]


class OpenTask:
    """The applicant's first form of a process; a new instance whenever junk happened to be accepted."""

    def __init__(self, medflow, process_key: str) -> None:
        self.medflow, self.process_key = medflow, process_key
        self.accepted = 0
        self.renew()

    def renew(self) -> None:
        started = self.medflow.runtime.start(self.process_key, {}, actor="ivanova")
        (task,) = self.medflow.queries.instance(started["id"])["open_tasks"]
        self.task = task
        self.schema = self.medflow.queries.task(task["id"])["schema"]


def _complete_once(open_task: OpenTask, data: object, user: str) -> None:
    medflow = open_task.medflow
    before = (table_counts(medflow), instance_versions(medflow))
    try:
        medflow.runtime.complete(open_task.task["id"], data, user=user)
    except ValidationFailed as failed:
        assert failed.errors and all(e["message"] and isinstance(e["field"], str) for e in failed.errors)
        assert all(e["code"] != "schema" for e in failed.errors), failed.errors
        assert (table_counts(medflow), instance_versions(medflow)) == before  # nothing changed
        return
    open_task.accepted += 1
    open_task.renew()


@pytest.mark.parametrize("process_key", REAL_FORMS)
def test_complete_real_application_forms_with_junk(tmp_path, process_key):
    medflow = make_medflow(tmp_path)
    try:
        deploy_processes(medflow)
        open_task = OpenTask(medflow, process_key)

        @settings(FUZZ, max_examples=60)
        @given(data=st.data())
        def run(data: st.DataObject) -> None:
            CASES[process_key] = CASES.get(process_key, 0) + 1
            _complete_once(open_task, data.draw(form_data(open_task.schema)), "ivanova")

        run()
    finally:
        medflow.db.dispose()


def test_complete_review_task_with_junk_on_each_database(medflow):
    open_task = OpenTask(medflow, "review_loop")

    @settings(FUZZ, max_examples=100 if medflow.db.is_sqlite else 40)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        CASES["review_loop"] = CASES.get("review_loop", 0) + 1
        _complete_once(open_task, data.draw(form_data(open_task.schema)), "op")

    run()
    print("form fuzz cases:", CASES)
