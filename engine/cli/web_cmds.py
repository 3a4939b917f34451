"""Web-related commands: `medflow demo seed | generate`, `medflow users add | list | token | password | disable | enable`."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine.account_models import ROLES
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

    @demo.command("generate")
    @click.option("--applications", "count", type=click.IntRange(1, 10_000_000), required=True,
                  help="Сколько заявлений создать.")
    @click.option("--seed", type=int, default=1, show_default=True, help="Зерно случайного разброса.")
    @click.option("--shapes", default="", help="Только эти виды через запятую, например medbook/review,clinician/review.")
    @json_option
    @pass_state
    def demo_generate(state: State, count: int, seed: int, shapes: str, as_json: bool) -> None:
        """Много заявлений разных процедур и состояний (для нагрузочных замеров и демонстраций)."""
        from engine.bulk_data import DEFAULT_SHAPES

        if state.settings.mode == "production":
            raise click.UsageError("demo generate недоступна в режиме production")
        wanted = [name.strip() for name in shapes.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {s.name for s in DEFAULT_SHAPES})
        if unknown:
            raise click.BadParameter(f"неизвестные виды: {', '.join(unknown)}; есть: "
                                     + ", ".join(s.name for s in DEFAULT_SHAPES), param_hint="--shapes")
        chosen = tuple(s for s in DEFAULT_SHAPES if not wanted or s.name in wanted)
        report = generate_applications(state, count, seed, quiet=as_json, shapes=chosen)
        emit(report, as_json, lambda r: (
            f"Создано заявлений: {r['applications']} ({r['templates']} прогнаны через движок, остальные — копии) "
            f"за {r['seconds_templates'] + r['seconds_clones'] + r['seconds_analyze']:.0f} с\n"
            + "\n".join(f"  {name:<26} {n}" for name, n in r["by_shape"].items())))

    @cli.group()
    def users() -> None:
        """Учётные записи веб-интерфейса и API."""

    @users.command("add")
    @click.argument("username")
    @click.option("--role", type=click.Choice(ROLES),
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

    @users.command("set")
    @click.argument("username")
    @click.option("--name", "full_name", default=None, help="Новые ФИО.")
    @click.option("--email", default=None, help="Новый адрес; «-» — убрать адрес.")
    @click.option("--role", default=None, type=click.Choice(ROLES), help="Новая роль.")
    @click.option("--group", "groups", multiple=True, help="Группы задач вместо прежних; можно несколько раз.")
    @click.option("--no-groups", is_flag=True, help="Убрать все группы.")
    @json_option
    @pass_state
    def users_set(state: State, username: str, full_name: str | None, email: str | None, role: str | None,
                  groups: tuple[str, ...], no_groups: bool, as_json: bool) -> None:
        """Изменить ФИО, почту, роль или группы (каждое изменение — в журнал)."""
        changes: dict[str, Any] = {k: v for k, v in (("full_name", full_name), ("role", role)) if v is not None}
        if email is not None:
            changes["email"] = None if email == "-" else email
        if groups or no_groups:
            changes["groups"] = list(groups)
        info = _accounts(state).update(username, changes, actor="cli")
        emit(info.to_dict(), as_json, f"Пользователь {info.username}: {info.role}, группы: "
                                      f"{', '.join(info.groups) or 'нет'}.")

    @users.command("list")
    @click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), help="Только с этой ролью; можно несколько раз.")
    @click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000), help="Сколько показать.")
    @click.option("--after", default=None, help="Начать после этого имени (последнего из предыдущей выдачи).")
    @json_option
    @pass_state
    def users_list(state: State, roles: tuple[str, ...], limit: int, after: str | None, as_json: bool) -> None:
        """Пользователи и их роли, по имени."""
        rows = [a.to_dict() for a in _accounts(state).page(roles, limit, after)]

        def human(rs: list[dict[str, Any]]) -> str:
            lines = [f"{r['username']:<14} {r['role']:<11} {','.join(r['groups'])}" for r in rs]
            if len(rs) == limit:
                lines.append(f"… показаны {limit}; следующие: --after {rs[-1]['username']}")
            return "\n".join(lines) or "Пользователей нет."

        emit(rows, as_json, human)

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

    @users.command("disable")
    @click.argument("username")
    @click.option("--to", "hand_over_to", default=None,
                  help="Кому передать открытые задачи (по умолчанию — в очереди их групп).")
    @click.option("--actor", default="cli", show_default=True, help="Кто отключает (для журнала).")
    @json_option
    @pass_state
    def users_disable(state: State, username: str, hand_over_to: str | None, actor: str, as_json: bool) -> None:
        """Отключить учётную запись (увольнение): её задачи — коллеге или в очередь, её замещения отменяются."""
        from engine.departures import depart

        gone = depart(state.medflow, _accounts(state), username, actor, hand_over_to)
        lines = [gone.headline()]
        lines += [f"Отменено замещение #{s.id}: {s.deputy} за {s.absent}, {s.starts_on:%d.%m.%Y}–{s.ends_on:%d.%m.%Y}"
                  + (f" — назначьте {s.absent} другого заместителя" if s.deputy == username else "")
                  for s in gone.substitutions_cancelled]
        emit(gone.to_dict(state.medflow.substitutions.today()), as_json, "\n".join(lines))

    @users.command("enable")
    @click.argument("username")
    @pass_state
    def users_enable(state: State, username: str) -> None:
        """Включить отключённую учётную запись снова."""
        _accounts(state).set_active(username, True, actor="cli")
        click.echo(f"Учётная запись {username} включена.")


# --- `demo generate`: templates driven by the scenario files ----------------------------------


def generate_applications(state: State, count: int, seed: int, quiet: bool = False,
                          shapes: tuple[Any, ...] = ()) -> dict[str, Any]:
    """Run :func:`engine.bulk_data.generate` with templates made by the procedures' scenario files.

    The templates run on their own engine with an in-memory simulated clock (the database's
    clock, real or simulated, is never moved): each is filed in the past and brought up to now,
    so the timers that would have fired by now have fired.
    """
    import handlers
    from engine.bootstrap import build
    from engine.bulk_data import DEFAULT_SHAPES, filed_at, generate
    from engine.clock import SimulatedClock

    now = state.medflow.clock.now()
    rng = random.Random(seed)
    engine = build(state.settings, clock=SimulatedClock(now))
    handlers.setup(engine, seed_demo=True)
    scenarios = state.settings.path("paths.processes", "processes") / "scenarios"
    people = _SyntheticPeople(engine, random.Random(seed * 7919 + count))

    def make_template(shape: Any, start: datetime) -> int:
        return _run_template(engine, scenarios / shape.scenario, shape.actions, start, now, people)

    def say(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    zone = engine.store.helpers.zone
    try:
        report = generate(engine.db, count, make_template, lambda age: filed_at(now, age, engine.calendar.is_working_day,
                                                                               zone, rng),
                          now, seed=seed, shapes=shapes or DEFAULT_SHAPES, extra_tables=("applications",),
                          progress=say)
    finally:
        engine.db.dispose()
    return report.to_dict()


def _run_template(engine: Any, path: Path, actions: int | None, start: datetime, now: datetime,
                  people: _SyntheticPeople) -> int:
    from handlers.scenarios.runner import _act, _step_kind, load_scenario

    scenario = load_scenario(path)
    session = _template_session(engine, people)
    engine.clock.set(start)
    for alias, spec in (scenario.get("documents") or {}).items():
        session.upload(alias, spec["name"], spec["kind"], **{k: v for k, v in spec.items() if k not in ("name", "kind")})
    done = 0
    for step in scenario["steps"]:
        kind, value = _step_kind(step)
        if kind in ("expect", "note", "deliver_notifications"):
            continue
        if actions is not None and done >= actions:
            break
        _act(session, kind, value)
        done += 1
    if engine.clock.now() < now:  # what would have happened by now (reminders, deadlines) happens
        engine.clock.set(now)
        session.run_timers()
    return int(session.instance()["id"])


class _SyntheticPeople:
    """A new, consistent person in the local registries for each template, in place of a demo one.

    Without this every template would be the same person, and the duplicate check would send the
    second application of a procedure down the refusal path.
    """

    _NAMES = {"Ж": (["Смирнова", "Кузьмина", "Волкова", "Морозова", "Лебедева", "Новикова", "Козлова", "Егорова"],
                    ["Анна", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Юлия"],
                    ["Андреевна", "Сергеевна", "Игоревна", "Павловна", "Олеговна", "Викторовна"]),
              "М": (["Соколов", "Попов", "Васильев", "Фёдоров", "Михайлов", "Никитин", "Орлов", "Захаров"],
                    ["Дмитрий", "Сергей", "Андрей", "Алексей", "Михаил", "Николай", "Павел", "Олег"],
                    ["Андреевич", "Сергеевич", "Игоревич", "Павлович", "Олегович", "Викторович"])}
    _FIELDS = ("snils", "passport", "inn", "oms", "last_name", "first_name", "middle_name")

    def __init__(self, engine: Any, rng: random.Random) -> None:
        self.engine = engine
        self.rng = rng
        self.current: dict[str, dict[str, str]] = {}  # demo SNILS → the person standing in for them

    def reset(self) -> None:
        self.current = {}

    def replace(self, value: Any) -> Any:
        """``value`` with every demo person's identity swapped for this template's person."""
        if isinstance(value, dict):
            value = {k: self.replace(v) for k, v in value.items()}
            snils = value.get("snils")
            if isinstance(snils, str) and snils in self._demo():
                original, person = self._demo()[snils], self._person_for(snils)
                for key in self._FIELDS:
                    if key in value and key in original and value[key] == original[key]:
                        value[key] = person[key]
            return value
        if isinstance(value, list):
            return [self.replace(v) for v in value]
        return value

    def _demo(self) -> dict[str, dict[str, Any]]:
        from handlers.demo_registry_data import DEMO_PEOPLE

        return {p["snils"]: p for p in DEMO_PEOPLE}

    def _person_for(self, demo_snils: str) -> dict[str, str]:
        if demo_snils not in self.current:
            self.current[demo_snils] = self._create(self._demo()[demo_snils])
        return self.current[demo_snils]

    def _create(self, base: dict[str, Any]) -> dict[str, str]:
        from engine.identifiers import make_valid_inn, make_valid_oms, make_valid_snils
        from handlers.registry_models import FrmrWorker, PassportRecord, SnilsRecord

        rng = self.rng
        last, first, middle = (rng.choice(names) for names in self._NAMES[base["gender"]])
        with self.engine.db.write() as session:
            while True:
                snils = make_valid_snils(f"{rng.randrange(200_000_000, 999_999_999)}")
                passport = f"{rng.randrange(4500, 4599)} {rng.randrange(100_000, 999_999)}"
                if session.get(SnilsRecord, snils) is None and session.query(PassportRecord).filter_by(
                        series_number=passport).first() is None:
                    break
            names = {"last_name": last, "first_name": first, "middle_name": middle}
            session.add(SnilsRecord(snils=snils, birth_date=base["birth_date"], gender=base["gender"], **names))
            session.add(PassportRecord(series_number=passport, birth_date=base["birth_date"],
                                       issued_on=base["passport_issued_on"], issued_by=base["passport_issued_by"],
                                       unit_code=base["passport_unit_code"], valid="passport_invalid" not in base,
                                       invalid_reason=base.get("passport_invalid"), **names))
            if "frmr" in base:
                session.add(FrmrWorker(snils=snils, full_name=f"{last} {first} {middle}", birth_date=base["birth_date"],
                                       documents=[], status="active", **base["frmr"]))
        return {"snils": snils, "passport": passport, **names,
                "inn": make_valid_inn(f"77{rng.randrange(10**7, 10**8)}"),
                "oms": make_valid_oms(f"77{rng.randrange(10**12, 10**13)}")}


def _template_session(engine: Any, people: _SyntheticPeople) -> Any:
    """A scenario session whose demo applicants are replaced by ``people`` (imported on use:
    the handlers are heavy and most commands do not need them)."""
    from handlers.scenarios.session import ScenarioSession

    class TemplateSession(ScenarioSession):
        def __init__(self, engine: Any, people: _SyntheticPeople) -> None:
            super().__init__(engine)
            self.people = people
            people.reset()

        def resolve(self, value: Any) -> Any:
            return self.people.replace(super().resolve(value))

        def complete(self, element_id: str, user: str, data: dict[str, Any], instance: str | None = None) -> Any:
            # A multi-instance task (commission votes) has several rows with the same element id and
            # due time: take one that is free or already this user's, whatever order the database gives.
            tasks = [t for t in self.medflow.queries.tasks(business_key=self.key(instance))
                     if t["element_id"] == element_id and t["assignee"] in (None, user)]
            if not tasks:
                return super().complete(element_id, user, data, instance)
            task = next((t for t in tasks if t["assignee"] == user), tasks[0])
            if task["assignee"] != user:
                self.medflow.runtime.claim(task["id"], user)
            return self.medflow.runtime.complete(task["id"], self.resolve(data), user=user)

    return TemplateSession(engine, people)

