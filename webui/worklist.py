"""The operator's worklist: tasks of their groups and their own, claim / unclaim / hand over, the
task page with the application, its documents and the task's form.

Conflicts (someone else claimed or completed the task meanwhile) come from the engine as
:class:`engine.errors.Conflict` with a Russian message, shown as a notice, never a trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from engine.accounts import AccountInfo
from engine.errors import EngineError, NotFound, ValidationFailed
from engine.substitutions import SubstitutionInfo
from webui import applications as apps
from webui import task_forms
from webui.auth import roles_required, safe_next, signed_in
from webui.catalogue import BY_KEY
from webui.display import last_day, medflow
from webui.substitutions import standing_in
from webui.work_scope import may_see, scope_of

worklist = Blueprint("worklist", __name__)
STAFF = ("operator", "supervisor")



def sees_all(who: AccountInfo) -> bool:
    return who.can("supervisor")


def may_work(who: AccountInfo, task: dict[str, Any]) -> bool:
    if task.get("candidate_group") == apps.APPLICANT_GROUP:
        return False  # the applicant's own form is not an operator's task
    return sees_all(who) or may_see(who, task)


@dataclass(frozen=True)
class HandOver:
    """Whom a task of a group may be handed over to: its members and, for a member who is away,
    their deputy — who works the group's queue meanwhile, whatever their own groups."""

    members: list[AccountInfo]
    deputies: list[AccountInfo]
    deputy_for: dict[str, str]  # deputy → the member they stand in for
    away: dict[str, SubstitutionInfo]  # who of the members (and the task's assignee) is away

    def may_receive(self, username: str) -> bool:
        return username in self.deputy_for or any(m.username == username for m in self.members)


def hand_over(task: dict[str, Any]) -> HandOver:
    accounts = current_app.extensions["accounts"]
    members = accounts.group_members(task.get("candidate_group") or "")
    away = medflow().substitutions.away([m.username for m in members] + [task.get("assignee") or ""])
    names = {m.username for m in members}
    deputy_for = {info.deputy: m.username for m in members
                  if (info := away.get(m.username)) is not None and info.deputy not in names}
    deputies = [p for p in map(accounts.find, deputy_for) if p is not None and p.active]
    return HandOver(members, deputies, {p.username: deputy_for[p.username] for p in deputies}, away)


def applicant_name(data: dict[str, Any]) -> str:
    person = data.get("applicant") if isinstance(data.get("applicant"), dict) else {}
    parts = [str(person.get(k) or "") for k in ("last_name", "first_name", "middle_name")]
    return " ".join(p for p in parts if p) or "—"


def visible_tasks(who: AccountInfo, args: Any) -> list[dict[str, Any]]:
    """Open tasks with the filters of the list page applied, soonest deadline first."""
    queries = medflow().queries
    scope = None if sees_all(who) else scope_of(who)
    groups = None if scope is None else list(scope.groups)
    assignee = None if scope is None else list(scope.usernames)
    query = (args.get("q") or "").strip()
    number = query if query[:2].isalpha() and "-" in query else None
    rows = queries.tasks(groups=groups, assignee=assignee, overdue=args.get("overdue") == "1",
                         process_key=args.get("process") or None, business_key=number, limit=500)
    rows = [t for t in rows if t.get("candidate_group") != apps.APPLICANT_GROUP]
    view = args.get("view") or "all"
    mine = set(scope.usernames) if scope is not None else {who.username}
    if view == "mine":
        rows = [t for t in rows if t.get("assignee") in mine]
    elif view == "free":
        rows = [t for t in rows if not t.get("assignee")]
    before = _parse_day(args.get("due_before"))
    if before:
        rows = [t for t in rows if t.get("due_at") and (last_day(t["due_at"]) or before) <= before]
    rows = rows[:200]
    names = apps.applicant_names([t["business_key"] for t in rows])
    for task in rows:
        key = task["business_key"]
        if key not in names:  # a procedure that registers nobody: its data says
            try:
                names[key] = applicant_name(queries.instance(key).get("data") or {})
            except NotFound:
                names[key] = "—"
        task["applicant_name"] = names[key]
        if scope is not None and task.get("assignee") in scope.standing_in_for:
            task["standing_in_for"] = task["assignee"]
    if query and number is None:
        rows = [t for t in rows if query.lower() in t["applicant_name"].lower() or query in t["business_key"]]
    return rows


def _parse_day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@worklist.get("/")
@roles_required(*STAFF)
def index():  # type: ignore[no-untyped-def]
    who = signed_in()
    rows = visible_tasks(who, request.args)
    processes = sorted({d["process_key"]: d["name"] for d in medflow().queries.definitions()}.items())
    return render_template("worklist/index.html", rows=rows, processes=processes, args=request.args,
                           services=BY_KEY, standing_in=standing_in(who))


def _task_or_404(task_id: str) -> dict[str, Any]:
    try:
        task = medflow().queries.task(task_id)
    except NotFound:
        abort(404)
    if not may_work(signed_in(), task):
        abort(403)
    return task


def _act(task_id: str, action: str) -> Any:
    """Claim, unclaim or hand over; the engine's refusal becomes a notice for the person."""
    who = signed_in()
    runtime = medflow().runtime
    task = _task_or_404(task_id)
    try:
        if action == "claim":
            runtime.claim(task_id, who.username)
            flash(f"Задача «{task['name']}» по заявлению {task['business_key']} взята в работу.", "success")
        elif action == "unclaim":
            runtime.unclaim(task_id, who.username, force=sees_all(who))
            flash("Задача возвращена в очередь группы.", "info")
        elif action == "assign":
            target = request.form.get("assignee", "")
            if not hand_over(task).may_receive(target):
                flash("Передать можно только сотруднику группы этой задачи или тому, кто замещает "
                      "отсутствующего сотрудника группы.", "error")
            elif task.get("assignee") not in (None, who.username) and not sees_all(who) \
                    and not scope_of(who).covers(task.get("assignee")):
                flash(f"Задача в работе у {task['assignee']}: передать её может он или руководитель.", "error")
            else:
                runtime.assign(task_id, target, who.username)
                flash(f"Задача передана: {target}.", "success")
    except EngineError as exc:
        flash(exc.message, "error")
    return redirect(safe_next(request.form.get("back")) or url_for("worklist.task", task_id=task_id))


@worklist.post("/tasks/<task_id>/claim")
@roles_required(*STAFF)
def claim(task_id: str):  # type: ignore[no-untyped-def]
    return _act(task_id, "claim")


@worklist.post("/tasks/<task_id>/unclaim")
@roles_required(*STAFF)
def unclaim(task_id: str):  # type: ignore[no-untyped-def]
    return _act(task_id, "unclaim")


@worklist.post("/tasks/<task_id>/assign")
@roles_required(*STAFF)
def assign(task_id: str):  # type: ignore[no-untyped-def]
    return _act(task_id, "assign")


@worklist.route("/tasks/<task_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def task(task_id: str):  # type: ignore[no-untyped-def]
    who = signed_in()
    item = _task_or_404(task_id)
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and item["status"] == "open":
        schema = item.get("schema") or {"type": "object"}
        values, errors = task_forms.read_post(schema, item.get("ui_schema"), who.username, item["business_key"])
        errors = errors + [e for e in task_forms.check(schema, values) if e["field"] not in {u["field"] for u in errors}]
        if not errors:
            try:
                if item.get("assignee") != who.username:
                    medflow().runtime.claim(task_id, who.username)
                result = medflow().runtime.complete(task_id, values, user=who.username)
            except ValidationFailed as exc:
                errors = exc.errors
            except EngineError as exc:
                flash(exc.message, "error")
                return redirect(url_for("worklist.task", task_id=task_id))
            else:
                flash(f"Задача выполнена. Заявление {item['business_key']}: {result.get('portal_status') or ''}", "success")
                return redirect(url_for("worklist.index"))
    instance = medflow().queries.instance(item["business_key"])
    submitted = apps.submit_task(item["business_key"])
    app_fields, _ = task_forms.fields_for((submitted or {}).get("schema"), (submitted or {}).get("ui_schema"),
                                          apps.submitted_values(instance, (submitted or {}).get("schema")))
    candidates = hand_over(item)
    history = medflow().queries.history(item["business_key"], last=15, skip=("element_completed",))
    return render_template(
        "worklist/task.html", task=item, instance=instance, app_fields=app_fields, hand_over=candidates,
        away=candidates.away,
        history=history, notice=(instance.get("data") or {}).get("refusal_notice"),
        review_note=(instance.get("data") or {}).get("review_note"), mine=item.get("assignee") == who.username,
        **task_forms.form_context(item, values, errors)), 422 if errors else 200
