"""Web-related commands: `medflow demo seed`, `medflow users add | list | token | unlock`."""

from __future__ import annotations

import click

from engine.cli.common import State, emit, json_option, pass_state


def _accounts(state: State):  # type: ignore[no-untyped-def]
    from engine.accounts import Accounts

    return Accounts(state.medflow.db, state.settings)


def register(cli: click.Group) -> None:
    """Add the web issue's commands to the main group."""

    @cli.group()
    def demo() -> None:
        """Демонстрационные данные."""

    @demo.command("seed")
    @json_option
    @pass_state
    def demo_seed(state: State, as_json: bool) -> None:
        """Демо-пользователи всех ролей и несколько заявлений в разных состояниях."""
        from webui.demo import DEMO_PASSWORD, seed

        result = seed(state.medflow, _accounts(state))
        host = state.settings.get("web.host", "127.0.0.1")
        port = state.settings.get("web.port", 8080)
        data = {
            "url": f"http://{host}:{port}/",
            "password": DEMO_PASSWORD,
            "users": [{"username": u.username, "role": u.role, "groups": list(u.groups), "note": u.note,
                       "created": created} for u, created in result["users"]],
            "applications": result["applications"],
        }

        def human(d: dict) -> str:
            lines = [f"Демо-пользователи (пароль у всех: {d['password']}):"]
            for u in d["users"]:
                lines.append(f"  {u['username']:<11} {u['role']:<11} {u['note']}")
            if d["applications"]:
                lines.append("Созданы демо-заявления:")
                lines += [f"  {line}" for line in d["applications"]]
            lines.append(f"Откройте {d['url']}")
            return "\n".join(lines)

        emit(data, as_json, human)

    @cli.group()
    def users() -> None:
        """Учётные записи веб-интерфейса и API."""

    @users.command("add")
    @click.argument("username")
    @click.option("--role", type=click.Choice(["applicant", "operator", "analyst", "supervisor", "admin"]),
                  default="applicant", show_default=True)
    @click.option("--name", "full_name", default=None, help="ФИО (по умолчанию — имя пользователя).")
    @click.option("--group", "groups", multiple=True, help="Группа задач оператора; можно несколько раз.")
    @click.option("--email", default=None)
    @click.password_option(help="Пароль (спросит, если не указан).")
    @json_option
    @pass_state
    def users_add(state: State, username: str, role: str, full_name: str | None, groups: tuple[str, ...],
                  email: str | None, password: str, as_json: bool) -> None:
        """Создать пользователя."""
        info = _accounts(state).create(username, password, full_name or username, role, groups, email, actor="cli")
        emit(info.to_dict(), as_json, f"Пользователь {info.username} ({info.role}) создан.")

    @users.command("list")
    @json_option
    @pass_state
    def users_list(state: State, as_json: bool) -> None:
        """Пользователи и их роли."""
        rows = [a.to_dict() for a in _accounts(state).all()]
        emit(rows, as_json, lambda rs: "\n".join(
            f"{r['username']:<14} {r['role']:<11} {','.join(r['groups'])}" for r in rs) or "Пользователей нет.")

    @users.command("token")
    @click.argument("username")
    @click.option("--name", default="CLI", help="Название токена.")
    @json_option
    @pass_state
    def users_token(state: State, username: str, name: str, as_json: bool) -> None:
        """Выпустить API-токен (показывается один раз)."""
        token = _accounts(state).issue_token(username, name, actor="cli")
        emit({"token": token}, as_json, token)

    @users.command("password")
    @click.argument("username")
    @click.password_option()
    @pass_state
    def users_password(state: State, username: str, password: str) -> None:
        """Сменить пароль (и снять блокировку)."""
        _accounts(state).set_password(username, password, actor="cli")
        click.echo(f"Пароль пользователя {username} изменён.")
