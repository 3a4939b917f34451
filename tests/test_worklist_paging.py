"""The worklist query against a plain-Python reference: every filter shape, paged with the cursor.

Rows are written straight into the projection table (ties in due and creation time on purpose),
then each shape is paged through two rows at a time and must give exactly the reference order:
deadline (none last), creation, id — no task twice, none left out.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import insert

from engine.models import UserTask
from tests.conftest import START

GROUPS = ["g_a", "g_b", "g_c"]
PEOPLE = ["anna", "boris", None]


def _seed(medflow, n: int = 40) -> list[dict]:
    instance = medflow.runtime.start("wait_working_days", {"days": 1})
    rng = random.Random(3)
    rows = []
    for i in range(n):
        due = None if rng.random() < 0.3 else START + timedelta(hours=rng.choice([-5, 1, 1, 30]))
        rows.append({
            "id": f"task-{i:03d}-{rng.randint(0, 999):03d}", "instance_id": instance["id"],
            "business_key": instance["business_key"], "process_key": rng.choice(["p_one", "p_two"]),
            "element_id": "e", "name": f"Задача {i}", "candidate_group": rng.choice(GROUPS),
            "assignee": rng.choice(PEOPLE), "status": rng.choice(["open", "open", "open", "completed"]),
            "due_at": due, "created_at": START - timedelta(minutes=rng.choice([1, 2, 2, 3])),
        })
    with medflow.db.write() as session:
        session.execute(insert(UserTask.__table__), rows)
    return rows


def _reference(rows, groups, assignee, overdue, process_key, status) -> list[str]:
    def visible(r) -> bool:
        if r["status"] != status or (process_key and r["process_key"] != process_key):
            return False
        if overdue and not (r["due_at"] is not None and r["due_at"] < START):
            return False
        if groups is None and assignee is None:
            return True
        return r["candidate_group"] in (groups or []) or (assignee is not None and r["assignee"] == assignee)

    chosen = [r for r in rows if visible(r)]
    chosen.sort(key=lambda r: (r["due_at"] is None, r["due_at"] or START, r["created_at"], r["id"]))
    return [r["id"] for r in chosen]


def _cursor(task: dict):
    from datetime import datetime

    due = datetime.fromisoformat(task["due_at"]) if task["due_at"] else None
    return due, datetime.fromisoformat(task["created_at"]), task["id"]


SHAPES = [
    (None, None, False, None, "open"),  # a supervisor: everything
    (["g_a"], "anna", False, None, "open"),  # an operator: own groups and own tasks
    (["g_a", "g_b"], "boris", False, "p_two", "open"),
    (["g_c"], None, True, None, "open"),  # overdue only
    (["g_b"], "anna", False, None, "completed"),
    ([], "boris", False, None, "open"),  # no groups, own tasks only
]
# An applicant: their own applications' tasks (the seed's one application was started by "system").
APPLICANT_SHAPES = [(["g_a", "g_b"], None, False, None, "open", "system"),
                    (["g_c"], None, False, None, "completed", "system")]


@pytest.mark.parametrize("shape", SHAPES + APPLICANT_SHAPES, ids=lambda s: "-".join(str(x) for x in s))
def test_paging_through_the_worklist_gives_the_reference_order(medflow, shape) -> None:
    rows = _seed(medflow)
    groups, assignee, overdue, process_key, status, *person = shape
    started_by = person[0] if person else None
    expected = _reference(rows, groups, assignee, overdue, process_key, status)
    assert expected, "the seed must give every shape something to page through"
    seen, after = [], None
    for _ in range(len(rows)):
        page = medflow.queries.tasks(groups=groups, assignee=assignee, overdue=overdue, process_key=process_key,
                                     status=status, limit=2, after=after, started_by=started_by)
        seen += [t["id"] for t in page if t["id"].startswith("task-")]
        if len(page) < 2:
            break
        after = _cursor(page[-1])
    assert seen == expected
    whole = medflow.queries.tasks(groups=groups, assignee=assignee, overdue=overdue, process_key=process_key,
                                  status=status, limit=500, started_by=started_by)
    assert [t["id"] for t in whole if t["id"].startswith("task-")] == expected
    if started_by:
        assert medflow.queries.tasks(groups=groups, status=status, started_by="someone-else") == []
