"""What an account's fields may hold: the same rules for `medflow users add`, the staff page's
editor and `/api/v1/staff`, each refusal naming its field.

>>> profile_errors({"role": "operator", "groups": ["регистратура", "не так!"]})
[{'field': 'groups', 'message': 'Группа «не так!»: буквы, цифры, «_», «-» и «.»', 'code': 'format'}]
"""

from __future__ import annotations

import re
from typing import Any

from engine.account_models import ROLES

USERNAME = re.compile(r"[\w.]{1,100}")
# A group is written into diagrams (a lane's name or candidateGroups) and compared as written.
GROUP = re.compile(r"[\w.\-]{1,100}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# The applicants' own tasks (fill in, fix and resubmit) carry this group; the worklist never shows
# them to staff, so it is no staff member's group.
APPLICANT_GROUP = "applicants"
MAX_GROUPS = 50
MAX_NAME = 300


def password_problem(password: str) -> str | None:
    if not isinstance(password, str):
        return "Пароль — строка"
    if len(password) < 8:
        return "Пароль должен быть не короче 8 символов"
    if password.isdigit() or password.isalpha():
        return "Пароль должен содержать и буквы, и цифры"
    return None


def username_problem(username: str) -> str | None:
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        return "Имя пользователя: буквы, цифры, «_» и «.», не длиннее 100 символов"
    return None


def profile_errors(fields: dict[str, Any]) -> list[dict[str, str]]:
    """Refusals, by field, of whichever of full_name, email, role and groups ``fields`` holds."""
    errors: list[dict[str, str]] = []

    def refuse(field: str, message: str, code: str) -> None:
        errors.append({"field": field, "message": message, "code": code})

    if "full_name" in fields:
        name = fields["full_name"]
        if not isinstance(name, str) or not name.strip():
            refuse("full_name", "Укажите фамилию, имя и отчество", "required")
        elif len(name) > MAX_NAME:
            refuse("full_name", f"Не длиннее {MAX_NAME} символов", "maxLength")
    if "email" in fields and fields["email"] is not None:
        email = fields["email"]
        if not isinstance(email, str) or len(email) > MAX_NAME or not EMAIL.fullmatch(email):
            refuse("email", "Адрес электронной почты в виде имя@домен.ru", "format")
    if "role" in fields and fields["role"] not in ROLES:
        refuse("role", f"Роль должна быть одной из: {', '.join(ROLES)}", "enum")
    if "groups" in fields:
        groups = fields["groups"]
        if not isinstance(groups, list | tuple) or not all(isinstance(g, str) for g in groups):
            refuse("groups", "Группы — список строк", "type")
        elif len(groups) > MAX_GROUPS:
            refuse("groups", f"Не больше {MAX_GROUPS} групп", "maxItems")
        else:
            for group in groups:
                if not GROUP.fullmatch(group):
                    refuse("groups", f"Группа «{group}»: буквы, цифры, «_», «-» и «.»", "format")
                    break
                if group == APPLICANT_GROUP:
                    refuse("groups", f"«{group}» — задачи самих заявителей, сотрудникам эту группу не назначают",
                           "applicants")
                    break
    return errors


def clean_groups(groups: list[str] | tuple[str, ...]) -> list[str]:
    """Groups in the order given, each once (a form's checkboxes and its free field may repeat one)."""
    return list(dict.fromkeys(g.strip() for g in groups if g.strip()))
