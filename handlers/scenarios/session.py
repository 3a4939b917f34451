"""What a scenario step does to the engine: an applicant or operator acting on one application.

Used by the YAML scenario runner (:mod:`tests.scenario_runner`) and directly by Python tests.

>>> session = ScenarioSession(medflow)                                  # doctest: +SKIP
>>> session.start("medbook_issuance", "ivanova")                        # doctest: +SKIP
>>> session.complete("submit_application", "ivanova", {...})            # doctest: +SKIP
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

import handlers
from engine.bootstrap import MedFlow
from engine.clock import SimulatedClock
from engine.worker import Worker
from handlers.demo_registry_data import demo_applicant
from handlers.documents import store_for
from handlers.notification_delivery import NotificationDispatcher
from handlers.payments import confirm_local_payment
from handlers.scenarios.samples import sample_file
from handlers.service_models import Notification, PaymentOrder, SupportTicket
from handlers.services import SERVICES_KEY

_ADVANCE = re.compile(r"^\s*(\d+)\s*(working days?|рабочи[хйе] дн(?:я|ей|и|ь)|wd|d|days?|дн(?:я|ей|ь)|h|hours?|час(?:а|ов)?|m|min|минут[аы]?)\s*$",
                      re.IGNORECASE)


class ScenarioError(AssertionError):
    """A step did not do what the scenario says; the message is for the analyst."""


class CapturingChannel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[dict[str, str]] = []

    def send(self, recipient: str, subject: str, body: str) -> None:
        self.sent.append({"channel": self.name, "to": recipient, "subject": subject, "body": body})


class ScenarioSession:
    def __init__(self, medflow: MedFlow) -> None:
        if not isinstance(medflow.clock, SimulatedClock):
            raise ScenarioError("сценарии выполняются только с имитируемыми часами (clock: simulated)")
        self.medflow = medflow
        self.env = handlers.setup(medflow)
        self.zone = ZoneInfo(medflow.settings.timezone)
        self.instances: dict[str, str] = {}  # scenario name → business key
        self.current: str | None = None
        self.documents: dict[str, str] = {}  # alias → document id
        self.channels = {"email": CapturingChannel("email"), "sms": CapturingChannel("sms")}
        self.dispatcher = NotificationDispatcher(medflow.db, medflow.settings, self.channels)  # type: ignore[arg-type]

    # --- time ----------------------------------------------------------------------------------

    def local_now(self) -> datetime:
        return self.medflow.clock.now().astimezone(self.zone)

    def set_time(self, text: str) -> datetime:
        """'2026-04-23 12:00' or '2026-04-23' (09:00), Moscow time unless an offset is given."""
        value = datetime.fromisoformat(text.strip()) if " " in text or "T" in text else \
            datetime.combine(date.fromisoformat(text.strip()), time(9, 0))
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return self.medflow.clock.set(value)  # type: ignore[attr-defined]

    def advance(self, text: str) -> datetime:
        """'11 working days' (same time of day on the 11th working day), '3d', '2 часа', '30m'."""
        match = _ADVANCE.match(str(text))
        if match is None:
            raise ScenarioError(f"не понимаю «{text}»: ожидается, например, «11 working days», «3d», «2h», «30m»")
        amount, unit = int(match.group(1)), match.group(2).lower()
        now = self.local_now()
        if unit.startswith(("working", "рабоч")) or unit == "wd":
            day = self.medflow.calendar.add_working_days(now.date(), amount)
            target = datetime.combine(day, now.timetz())
        elif unit.startswith(("d", "дн")):
            target = now + timedelta(days=amount)
        elif unit.startswith(("h", "час")):
            target = now + timedelta(hours=amount)
        else:
            target = now + timedelta(minutes=amount)
        return self.medflow.clock.set(target)  # type: ignore[attr-defined]

    def run_timers(self) -> int:
        """Let the worker fire everything due; a fired timer may make another one due at once."""
        fired = 0
        worker = Worker(self.medflow, worker_id="scenario")
        for _ in range(20):
            result = worker.tick()
            if result.errors:
                raise ScenarioError("ошибка при срабатывании таймеров: " + "; ".join(result.errors))
            fired += result.fired
            if not result.fired:
                break
        return fired

    # --- documents -----------------------------------------------------------------------------

    def upload(self, alias: str, name: str, kind: str, **options: Any) -> str:
        store = store_for(self.env)
        with self.medflow.db.write() as session:
            row = store.save(session, sample_file(kind, **options), name, uploaded_by="scenario")
            self.documents[alias] = row.id
        return self.documents[alias]

    def resolve(self, value: Any) -> Any:
        """``$doc:alias`` → document id; ``{$demo_applicant: 0, ...}`` → a demo person plus overrides."""
        if isinstance(value, str) and value.startswith("$doc:"):
            alias = value[5:]
            if alias not in self.documents:
                raise ScenarioError(f"документ «{alias}» не загружен (раздел documents)")
            return self.documents[alias]
        if isinstance(value, dict):
            if "$demo_applicant" in value:
                base = demo_applicant(int(value["$demo_applicant"]))
                rest = {k: v for k, v in value.items() if k != "$demo_applicant"}
                return {**base, **self.resolve(rest)}
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    # --- acting --------------------------------------------------------------------------------

    def key(self, instance: str | None = None) -> str:
        name = instance or self.current
        if name is None or name not in self.instances:
            raise ScenarioError(f"заявление «{instance or ''}» ещё не подано в этом сценарии")
        return self.instances[name]

    def start(self, process: str, user: str, data: dict[str, Any] | None = None, name: str = "main") -> str:
        result = self.medflow.runtime.start(process, self.resolve(data or {}), actor=user)
        self.instances[name] = result["business_key"]
        self.current = name
        return result["business_key"]

    def open_task(self, element_id: str, instance: str | None = None) -> dict[str, Any]:
        tasks = [t for t in self.medflow.queries.tasks(business_key=self.key(instance)) if t["element_id"] == element_id]
        if not tasks:
            waiting = sorted(t["element_id"] for t in self.medflow.queries.tasks(business_key=self.key(instance)))
            raise ScenarioError(f"нет открытой задачи «{element_id}»; открыты: {', '.join(waiting) or 'никаких'}")
        return tasks[0]

    def complete(self, element_id: str, user: str, data: dict[str, Any], instance: str | None = None) -> dict[str, Any]:
        task = self.open_task(element_id, instance)
        if task["assignee"] != user:
            self.medflow.runtime.claim(task["id"], user)
        return self.medflow.runtime.complete(task["id"], self.resolve(data), user=user)

    def send(self, message: str, data: dict[str, Any] | None = None, instance: str | None = None,
             user: str = "portal") -> dict[str, Any]:
        return self.medflow.runtime.send_message(message, self.key(instance), self.resolve(data or {}), actor=user)

    def pay(self, instance: str | None = None) -> int:
        """The applicant pays every open order of the application (the local payment gateway)."""
        with self.medflow.db.write() as session:
            orders = list(session.scalars(select(PaymentOrder).where(
                PaymentOrder.business_key == self.key(instance), PaymentOrder.status == "created")))
            for order in orders:
                confirm_local_payment(session, order.id)
        if not orders:
            raise ScenarioError("по заявлению нет неоплаченных счетов")
        return sum(order.amount_rub for order in orders)

    # --- reading -------------------------------------------------------------------------------

    def instance(self, instance: str | None = None) -> dict[str, Any]:
        return self.medflow.queries.instance(self.key(instance))

    def deliver_notifications(self) -> int:
        return self.dispatcher.dispatch().sent

    def notifications(self, instance: str | None = None) -> list[Notification]:
        with self.medflow.db.read() as session:
            return list(session.scalars(select(Notification).where(
                Notification.business_key == self.key(instance)).order_by(Notification.id)))

    def tickets(self, instance: str | None = None) -> list[SupportTicket]:
        with self.medflow.db.read() as session:
            return list(session.scalars(select(SupportTicket).where(
                SupportTicket.business_key == self.key(instance)).order_by(SupportTicket.id)))

    def due_day(self, iso: str | None) -> str | None:
        """The last day to act: a deadline "end of the 10th working day" is stored as the midnight after."""
        if iso is None:
            return None
        return (datetime.fromisoformat(iso) - timedelta(microseconds=1)).astimezone(self.zone).date().isoformat()


def services_ready(medflow: MedFlow) -> bool:
    return SERVICES_KEY in medflow.store.services
