"""`medflow start | instances | instance | tasks | claim | unclaim | complete | message | cancel`."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.common import State, emit, json_option, pass_state, read_data


def _instance_line(i: dict[str, Any]) -> str:
    return (f"{i['id']:>6}  {i['business_key']:<16} {i['process_key']:<28} {i['status']:<10} "
            f"{i['portal_status'] or ''}")


def _task_line(t: dict[str, Any]) -> str:
    due = (t["due_at"] or "")[:16].replace("T", " ")
    flag = " ПРОСРОЧЕНО" if t["overdue"] else ""
    return (f"{t['id']}  {t['business_key']:<16} {t['name']:<30} группа={t['candidate_group'] or '-'} "
            f"исполнитель={t['assignee'] or '-'} срок={due or '-'}{flag}")


def _instance_text(i: dict[str, Any]) -> str:
    lines = [f"Заявление {i['business_key']} (id {i['id']}), процесс {i['process_key']} v{i.get('version')}",
             f"  состояние: {i['status']}; статус для заявителя: {i['portal_status'] or '-'}",
             f"  размер состояния: {i['state_size']} байт, шагов: {i['steps']}"]
    lines += [f"  задача: {_task_line(t)}" for t in i.get("open_tasks", [])]
    lines += [f"  таймер: {j['element_id']} {j['kind']} срок {j['due_at']} ({j['expression'] or ''})" for j in i.get("jobs", [])]
    lines += [f"  ожидает сообщения: {m}" for m in i.get("waiting_for_messages", [])]
    lines += [f"  инцидент #{x['id']} [{x['status']}] {x['element_id']}: {x['error']}" for x in i.get("incidents", [])]
    if "data" in i:
        lines.append(f"  данные: {i['data']}")
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    @cli.command()
    @click.argument("process_key")
    @click.option("--data", help="JSON или @файл.json с начальными данными.")
    @click.option("--user", default="cli")
    @json_option
    @pass_state
    def start(state: State, process_key: str, data: str | None, user: str, as_json: bool) -> None:
        """Запустить экземпляр последней версии процесса."""
        result = state.medflow.runtime.start(process_key, read_data(data), actor=user)
        emit(result, as_json, lambda r: f"Заявление {r['business_key']} (id {r['id']}) создано: {r['status']}")

    @cli.command()
    @click.option("--process", "process_key")
    @click.option("--status")
    @click.option("--limit", default=50, show_default=True)
    @click.option("--before", "before_id", type=int, help="Курсор: id последней строки прошлой страницы.")
    @json_option
    @pass_state
    def instances(state: State, process_key: str | None, status: str | None, limit: int,
                  before_id: int | None, as_json: bool) -> None:
        """Список заявлений (новые сверху)."""
        rows = state.medflow.queries.instances(process_key, status, limit=limit, before_id=before_id)
        emit(rows, as_json, lambda rs: "\n".join(_instance_line(r) for r in rs) or "Заявлений нет.")

    @cli.command()
    @click.argument("ref")
    @click.option("--history", is_flag=True, help="Показать журнал событий.")
    @json_option
    @pass_state
    def instance(state: State, ref: str, history: bool, as_json: bool) -> None:
        """Заявление по id или номеру: состояние, задачи, таймеры, данные."""
        result = state.medflow.queries.instance(ref)
        if history:
            result["history"] = state.medflow.queries.history(ref)

        def text(r: dict[str, Any]) -> str:
            out = _instance_text(r)
            for e in r.get("history", []):
                out += f"\n  {e['at'][:19]} {e['actor']:<12} {e['action']:<18} {e['element_id'] or ''} {e['old'] or ''} → {e['new'] or ''}"
            return out

        emit(result, as_json, text)

    @cli.command()
    @click.option("--group", "groups", multiple=True, help="Группа исполнителей (можно несколько).")
    @click.option("--assignee")
    @click.option("--overdue", is_flag=True)
    @click.option("--process", "process_key")
    @click.option("--limit", default=50, show_default=True)
    @json_option
    @pass_state
    def tasks(state: State, groups: tuple[str, ...], assignee: str | None, overdue: bool,
              process_key: str | None, limit: int, as_json: bool) -> None:
        """Открытые задачи, ближайший срок сверху."""
        rows = state.medflow.queries.tasks(list(groups) or None, assignee, overdue, process_key, limit=limit)
        emit(rows, as_json, lambda rs: "\n".join(_task_line(t) for t in rs) or "Задач нет.")

    @cli.command()
    @click.argument("task_id")
    @click.option("--user", required=True)
    @json_option
    @pass_state
    def claim(state: State, task_id: str, user: str, as_json: bool) -> None:
        """Взять задачу в работу."""
        state.medflow.runtime.claim(task_id, user)
        emit({"task_id": task_id, "assignee": user}, as_json, f"Задача взята в работу: {user}")

    @cli.command()
    @click.argument("task_id")
    @click.option("--user", required=True)
    @json_option
    @pass_state
    def unclaim(state: State, task_id: str, user: str, as_json: bool) -> None:
        """Вернуть задачу в очередь группы."""
        state.medflow.runtime.unclaim(task_id, user)
        emit({"task_id": task_id, "assignee": None}, as_json, "Задача возвращена в очередь.")

    @cli.command()
    @click.argument("task_id")
    @click.option("--data", help="JSON или @файл.json с данными формы.")
    @click.option("--user", required=True)
    @json_option
    @pass_state
    def complete(state: State, task_id: str, data: str | None, user: str, as_json: bool) -> None:
        """Выполнить задачу с данными формы (проверяются по JSON Schema)."""
        result = state.medflow.runtime.complete(task_id, read_data(data), user)
        emit(result, as_json, lambda r: f"Задача выполнена. Заявление {r['business_key']}: {r['status']}")

    @cli.command()
    @click.argument("name")
    @click.option("--key", "business_key", required=True, help="Номер заявления.")
    @click.option("--data")
    @click.option("--user", default="cli")
    @json_option
    @pass_state
    def message(state: State, name: str, business_key: str, data: str | None, user: str, as_json: bool) -> None:
        """Доставить сообщение заявлению по его номеру."""
        result = state.medflow.runtime.send_message(name, business_key, read_data(data), user)
        emit(result, as_json, lambda r: f"Сообщение доставлено: {r['business_key']} ({r['status']})")

    @cli.command()
    @click.argument("ref")
    @click.option("--user", default="cli")
    @click.option("--reason", default="")
    @json_option
    @pass_state
    def cancel(state: State, ref: str, user: str, reason: str, as_json: bool) -> None:
        """Отменить заявление."""
        instance_id = state.medflow.queries.instance(ref, with_data=False)["id"]
        state.medflow.runtime.cancel(instance_id, user, reason)
        emit({"id": instance_id, "status": "cancelled"}, as_json, "Заявление отменено.")


def register_migration(cli: click.Group) -> None:
    @cli.command("migrate")
    @click.argument("process_key")
    @click.option("--to-version", type=int, default=None, help="По умолчанию — последняя версия.")
    @click.option("--apply", is_flag=True, help="Перенести; без флага — только показать план.")
    @click.option("--user", default="cli")
    @click.option("--batch", type=click.IntRange(min=1), default=200, show_default=True,
                  help="Заявлений в одной транзакции: между ними работают остальные команды.")
    @json_option
    @pass_state
    def migrate(state: State, process_key: str, to_version: int | None, apply: bool, user: str, batch: int,
                as_json: bool) -> None:
        """Перенести ожидающие заявления на новую версию процесса, где изменения это позволяют."""
        from engine.instance_migration import InstanceMigrator

        plans = InstanceMigrator(state.medflow.store).run(process_key, to_version, user, apply, batch)

        def text(items: list) -> str:
            lines = []
            for p in items:
                verdict = ("перенесено" if apply else "можно перенести") if p.allowed else "нельзя: " + "; ".join(p.blockers)
                lines.append(f"{p.business_key}: v{p.from_version} → v{p.to_version} — {verdict}")
            moved = sum(p.allowed for p in items)
            lines.append(f"Итого: {moved} из {len(items)} {'перенесено' if apply else 'можно перенести'}")
            return "\n".join(lines)

        emit([p.to_dict() for p in plans], as_json, lambda _: text(plans))
