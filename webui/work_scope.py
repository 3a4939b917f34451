"""Whose work the person of this request does: their own, and that of the people they stand in for
today (engine/substitutions.py). Read once per request; the worklist page, its actions and the
tasks API all decide visibility with it."""

from __future__ import annotations

from typing import Any

from flask import g

from engine.accounts import AccountInfo
from engine.substitutions import WorkScope
from webui.display import medflow


def scope_of(who: AccountInfo) -> WorkScope:
    cached = getattr(g, "_medflow_work_scope", None)
    if cached is not None and cached[0] == who.username:
        return cached[1]
    scope = medflow().substitutions.scope(who.username, who.groups)
    g._medflow_work_scope = (who.username, scope)
    return scope


def may_see(who: AccountInfo, task: dict[str, Any]) -> bool:
    """An operator's view of a staff task: their groups' and their own, widened by substitution."""
    scope = scope_of(who)
    return task.get("candidate_group") in scope.groups or scope.covers(task.get("assignee"))
