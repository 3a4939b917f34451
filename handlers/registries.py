"""State registries behind adapter interfaces, and the checks that use them.

ФМС (passports), СФР (СНИЛС), ФРМР (medical workers) and ЕГИСЗ (medbooks) are not reachable from
the product's network. Each is a :class:`typing.Protocol`; the local implementations read and
write the ``reg_*`` tables (seeded with demo records). A real client slots in by configuration::

    adapters:
      passport_registry: mycompany.smev:PassportClient   # built as PassportClient(env)

Every method receives the call context first: a real client sends ``ctx.idempotency_key`` with
its request, the local one writes in the engine step's transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select

from engine import clock
from engine.db import upsert_statements
from engine.handler_registry import CallContext, handler
from engine.identifiers import normalize_passport, parse_ru_date
from engine.models import Instance
from handlers.registry_models import EgiszMedbook, FrmrWorker, PassportRecord, SnilsRecord
from handlers.service_models import REGISTERED_IN_STEP, ApplicationRecord
from handlers.services import HandlerEnvironment, environment, session_for

LOCAL = "handlers.registries"


class PassportRegistry(Protocol):
    def find_passport(self, ctx: CallContext, series_number: str) -> dict[str, Any] | None: ...


class SnilsRegistry(Protocol):
    def find_person(self, ctx: CallContext, snils: str) -> dict[str, Any] | None: ...


class FrmrRegistry(Protocol):
    def find_worker(self, ctx: CallContext, snils: str) -> dict[str, Any] | None: ...

    def upsert_worker(self, ctx: CallContext, worker: dict[str, Any]) -> None: ...

    def add_documents(self, ctx: CallContext, snils: str, documents: list[dict[str, Any]]) -> None: ...


class EgiszRegistry(Protocol):
    def record_medbook(self, ctx: CallContext, medbook: dict[str, Any]) -> None: ...

    def active_medbooks(self, ctx: CallContext, snils: str) -> list[dict[str, Any]]: ...


# The checks of a submit read with Core and prebuilt statements: the ORM's loading cost more than
# the lookups themselves, and these tables are only read here.
_PASSPORT = select(*PassportRecord.__table__.c).where(PassportRecord.series_number == bindparam("b_number"))
_PERSON = select(*SnilsRecord.__table__.c).where(SnilsRecord.snils == bindparam("b_snils"))
_DUPLICATE = (
    select(ApplicationRecord.business_key)
    .join(Instance, Instance.id == ApplicationRecord.instance_id)
    .where(ApplicationRecord.process_key == bindparam("b_process"), ApplicationRecord.snils == bindparam("b_snils"),
           ApplicationRecord.instance_id != bindparam("b_instance"), Instance.status.in_(("running", "incident")))
    .order_by(ApplicationRecord.id)
    .limit(1)
)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


class LocalPassportRegistry:
    def __init__(self, env: HandlerEnvironment) -> None:
        self.env = env

    def find_passport(self, ctx: CallContext, series_number: str) -> dict[str, Any] | None:
        row = session_for(ctx).connection().execute(_PASSPORT, {"b_number": series_number}).first()
        if row is None:
            return None
        return {"series_number": row.series_number, "last_name": row.last_name, "first_name": row.first_name,
                "middle_name": row.middle_name, "birth_date": _iso(row.birth_date), "issued_on": _iso(row.issued_on),
                "unit_code": row.unit_code, "valid": row.valid, "invalid_reason": row.invalid_reason}


class LocalSnilsRegistry:
    def __init__(self, env: HandlerEnvironment) -> None:
        self.env = env

    def find_person(self, ctx: CallContext, snils: str) -> dict[str, Any] | None:
        row = session_for(ctx).connection().execute(_PERSON, {"b_snils": snils}).first()
        if row is None:
            return None
        return {"snils": row.snils, "last_name": row.last_name, "first_name": row.first_name,
                "middle_name": row.middle_name, "birth_date": _iso(row.birth_date), "gender": row.gender}


class LocalFrmrRegistry:
    def __init__(self, env: HandlerEnvironment) -> None:
        self.env = env

    def find_worker(self, ctx: CallContext, snils: str) -> dict[str, Any] | None:
        row = session_for(ctx).get(FrmrWorker, snils)
        if row is None:
            return None
        return {"snils": row.snils, "full_name": row.full_name, "birth_date": _iso(row.birth_date),
                "speciality": row.speciality, "position": row.position, "employer_ogrn": row.employer_ogrn,
                "employer_name": row.employer_name, "documents": list(row.documents or []), "status": row.status}

    def upsert_worker(self, ctx: CallContext, worker: dict[str, Any]) -> None:
        session = session_for(ctx)
        row = session.get(FrmrWorker, worker["snils"])
        if row is None:
            row = FrmrWorker(snils=worker["snils"], documents=[])
            session.add(row)
        row.full_name = worker["full_name"]
        row.birth_date = _to_date(worker["birth_date"])
        for key in ("speciality", "position", "employer_ogrn", "employer_name"):
            if worker.get(key) is not None:
                setattr(row, key, worker[key])
        row.status, row.updated_at = worker.get("status", "active"), clock.now()

    def add_documents(self, ctx: CallContext, snils: str, documents: list[dict[str, Any]]) -> None:
        row = session_for(ctx).get(FrmrWorker, snils)
        if row is None:
            raise LookupError(f"медработник со СНИЛС {snils} не найден в ФРМР")
        row.documents = [*(row.documents or []), *documents]
        row.updated_at = clock.now()


class LocalEgiszRegistry:
    def __init__(self, env: HandlerEnvironment) -> None:
        self.env = env

    def record_medbook(self, ctx: CallContext, medbook: dict[str, Any]) -> None:
        session = session_for(ctx)
        row = session.get(EgiszMedbook, medbook["number"])
        if row is None:  # idempotent: a retried call finds its own record
            session.add(EgiszMedbook(
                number=medbook["number"], snils=medbook["snils"], full_name=medbook["full_name"],
                category=medbook["category"], issued_on=_to_date(medbook["valid_from"]),
                valid_until=_to_date(medbook["valid_until"]), business_key=ctx.business_key, status="active",
            ))

    def active_medbooks(self, ctx: CallContext, snils: str) -> list[dict[str, Any]]:
        rows = session_for(ctx).scalars(
            select(EgiszMedbook).where(EgiszMedbook.snils == snils, EgiszMedbook.status == "active"))
        return [{"number": r.number, "valid_until": _iso(r.valid_until), "category": r.category} for r in rows]


def _to_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    parsed = parse_ru_date(value)
    return parsed if parsed else date.fromisoformat(str(value)[:10])


def passport_registry(env: HandlerEnvironment) -> PassportRegistry:
    return env.adapter("passport_registry", f"{LOCAL}:LocalPassportRegistry")


def snils_registry(env: HandlerEnvironment) -> SnilsRegistry:
    return env.adapter("snils_registry", f"{LOCAL}:LocalSnilsRegistry")


def frmr_registry(env: HandlerEnvironment) -> FrmrRegistry:
    return env.adapter("frmr_registry", f"{LOCAL}:LocalFrmrRegistry")


def egisz_registry(env: HandlerEnvironment) -> EgiszRegistry:
    return env.adapter("egisz_registry", f"{LOCAL}:LocalEgiszRegistry")


# --- checks ----------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    def norm(value: Any) -> str:
        return str(value or "").strip().lower().replace("ё", "е")

    return norm(a) == norm(b)


def _mismatches(applicant: dict[str, Any], record: dict[str, Any]) -> list[str]:
    labels = {"last_name": "фамилия", "first_name": "имя", "middle_name": "отчество"}
    found = [label for key, label in labels.items() if not _same(applicant.get(key), record.get(key))]
    birth = parse_ru_date(applicant.get("birth_date"))
    if birth is None or birth.isoformat() != record.get("birth_date"):
        found.append("дата рождения")
    return found


@handler("match_registries", params={"type": "object", "required": ["applicant"],
                                     "properties": {"applicant": {"type": "object"}}})
def match_registries(applicant: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    """Passport (ФМС) and СНИЛС (СФР) must exist, be valid and name the same person."""
    env = environment(ctx)
    errors: dict[str, str] = {}
    passport = normalize_passport(applicant.get("passport"))
    if passport:
        record = passport_registry(env).find_passport(ctx, passport)
        if record is None:
            errors["applicant.passport"] = "Паспорт не найден в реестре МВД: проверьте серию и номер"
        elif not record["valid"]:
            errors["applicant.passport"] = f"Паспорт недействителен: {record.get('invalid_reason') or 'по данным МВД'}"
        elif differ := _mismatches(applicant, record):
            errors["applicant.passport"] = "Данные не совпадают с паспортом в реестре МВД: " + ", ".join(differ)
    snils = applicant.get("snils")
    if snils:
        person = snils_registry(env).find_person(ctx, snils)
        if person is None:
            errors["applicant.snils"] = "СНИЛС не найден в реестре СФР"
        elif differ := _mismatches(applicant, person):
            errors["applicant.snils"] = "Данные не совпадают со сведениями СФР по СНИЛС: " + ", ".join(differ)
    return {"ok": not errors, "errors": errors}


_REGISTER_PARAMS = {"type": "object", "required": ["applicant"],
                    "properties": {"applicant": {"type": "object"}, "contact": {"type": ["object", "null"]}}}


# Core, not the ORM: a SELECT and a flush became one statement, whether or not the application
# was registered before (a resubmission).
_APPLICATIONS = ApplicationRecord.__table__
_UPSERT_APPLICATION = upsert_statements(_APPLICATIONS, [_APPLICATIONS.c.instance_id], lambda insert: {
    name: insert.excluded[name] for name in ("snils", "full_name", "email", "phone")})


@handler("register_application", params=_REGISTER_PARAMS)
def register_application(applicant: dict[str, Any], ctx: CallContext, contact: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record whom the application is about and where to send its notices (the filer's contacts)."""
    session = session_for(ctx)
    reach = contact or applicant
    names = [applicant.get(k) for k in ("last_name", "first_name", "middle_name")]
    values = {"instance_id": ctx.instance_id, "business_key": ctx.business_key, "process_key": ctx.process_key,
              "created_at": clock.now(), "snils": applicant.get("snils") or None,
              "full_name": " ".join(n for n in names if n) or None,
              "email": reach.get("email") or None, "phone": reach.get("phone") or None}
    connection = session.connection()
    connection.execute(_UPSERT_APPLICATION[connection.dialect.name], values)
    session.info.setdefault(REGISTERED_IN_STEP, {})[ctx.instance_id] = ApplicationRecord(**values)
    return {"registered": True, "business_key": ctx.business_key}


@handler("check_duplicate_application", params={"type": "object", "properties": {"snils": {}}})
def check_duplicate_application(snils: Any, ctx: CallContext) -> dict[str, Any]:
    """Another application of the same procedure for the same СНИЛС still in progress?"""
    if not snils:
        return {"duplicate": False, "other": None}
    other = session_for(ctx).connection().scalar(_DUPLICATE, {
        "b_process": ctx.process_key, "b_snils": str(snils), "b_instance": ctx.instance_id})
    message = f"Заявление {other} по этой услуге уже рассматривается" if other else None
    return {"duplicate": other is not None, "other": other,
            "errors": {"applicant.snils": message} if message else {}}


@handler("frmr_lookup", params={"type": "object", "required": ["snils"], "properties": {"snils": {}}})
def frmr_lookup(snils: Any, ctx: CallContext) -> dict[str, Any]:
    """The worker's record in ФРМР, if the employer has entered one."""
    worker = frmr_registry(environment(ctx)).find_worker(ctx, str(snils))
    return {"found": worker is not None, "worker": worker}


@handler("frmr_register_worker", params={"type": "object", "required": ["worker"],
                                         "properties": {"worker": {"type": "object"}}})
def frmr_register_worker(worker: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    frmr_registry(environment(ctx)).upsert_worker(ctx, worker)
    return {"registered": True, "at": datetime.isoformat(clock.now())}


@handler("frmr_add_documents", params={"type": "object", "required": ["snils", "documents"],
                                       "properties": {"documents": {"type": "array"}}})
def frmr_add_documents(snils: Any, documents: list[dict[str, Any]], ctx: CallContext) -> dict[str, Any]:
    """Transfer confirmed documents (qualification, accreditation) to the worker's ФРМР record."""
    frmr_registry(environment(ctx)).add_documents(ctx, str(snils), documents)
    return {"transferred": len(documents)}
