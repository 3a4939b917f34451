"""Where benchmarks run: throw-away SQLite files and PostgreSQL databases, engines built on them,
and many distinct applicants in the local registries.

PostgreSQL: ``BENCH_POSTGRES_URL`` (else ``MEDFLOW_TEST_POSTGRES_URL``, else the local server as
postgres). Every database is named ``medflow_bench_*`` and dropped when its block ends.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

import handlers
from engine.bootstrap import MedFlow, build
from engine.clock import Clock
from engine.config import load_settings
from engine.definitions import collect_files
from engine.identifiers import make_valid_inn, make_valid_oms, make_valid_snils
from handlers.documents import store_for
from handlers.registry_models import PassportRecord, SnilsRecord
from handlers.scenarios.samples import sample_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server() -> str:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("MEDFLOW_TEST_POSTGRES_URL") or DEFAULT_POSTGRES


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh database ``medflow_bench_<name>_<pid>``; dropped (with its connections) afterwards."""
    server = postgres_server()
    database = f"medflow_bench_{name}_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(server).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def settings_for(url: str, tmp: Path, kind: str = "processes") -> Any:
    """``processes``: the real procedures and forms; ``tests``: the small test and bench diagrams."""
    overrides: dict[str, Any] = {"database.url": url, "paths.documents": str(tmp / "documents"), "clock": "real",
                                 "handlers.modules": ["handlers", "tests.engine_test_handlers", "benchmarks.bench_handlers"]}
    if kind == "tests":
        overrides["paths.forms"] = str(ROOT / "tests" / "forms")
    return load_settings().with_overrides(overrides)


def engine_for(url: str, tmp: Path, clock: Clock | None = None, kind: str = "processes") -> MedFlow:
    medflow = build(settings_for(url, tmp, kind), clock=clock)
    handlers.setup(medflow, seed_demo=True)
    if kind == "tests":
        medflow.definitions.deploy(collect_files([HERE / "diagrams", ROOT / "tests" / "diagrams"]), actor="bench")
    else:
        medflow.definitions.deploy(collect_files([ROOT / "processes"]), actor="bench")
    return medflow


def subprocess_env(url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a `medflow` process on ``url`` (serve, worker, demo generate)."""
    env = {**os.environ, "MEDFLOW_DATABASE_URL": url, "MEDFLOW_PATHS_DOCUMENTS": str(tmp / "documents"),
           "MEDFLOW_CLOCK": "real", "MEDFLOW_MODE": "development", "PYTHONUNBUFFERED": "1", **extra}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    return env


# --- applicants ----------------------------------------------------------------------------------

_LAST = ["Смирнова", "Кузьмина", "Волкова", "Морозова", "Лебедева", "Новикова", "Козлова", "Егорова"]
_FIRST = ["Анна", "Елена", "Ольга", "Татьяна", "Наталья", "Ирина", "Светлана", "Юлия"]
_MIDDLE = ["Андреевна", "Сергеевна", "Игоревна", "Павловна", "Олеговна", "Викторовна"]


def register_people(medflow: MedFlow, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` distinct valid applicants, known to the local СФР and МВД registries, as a form has them.

    Distinct people keep the duplicate check from sending applications down the refusal path.
    """
    rng = random.Random(seed)
    snils_rows, passport_rows, people = [], [], []
    numbers = rng.sample(range(300_000_000, 999_999_999), n)
    for i, number in enumerate(numbers):
        birth = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
        # A passport is issued at 20 (or later), never in the future — the form refuses that.
        issued = min(birth + timedelta(days=20 * 365 + rng.randrange(0, 3000)), date(2025, 12, 1))
        names = {"last_name": rng.choice(_LAST), "first_name": rng.choice(_FIRST), "middle_name": rng.choice(_MIDDLE)}
        snils = make_valid_snils(str(number))
        passport = f"{4500 + i // 900_000:04d} {100_000 + i % 900_000:06d}"
        snils_rows.append({"snils": snils, "birth_date": birth, "gender": "Ж", **names})
        passport_rows.append({"series_number": passport, "birth_date": birth, "issued_on": issued, "valid": True,
                              "issued_by": "ОВД района Хамовники г. Москвы", "unit_code": "770-001", **names})
        people.append({**names, "gender": "Ж", "snils": snils, "passport": passport,
                       "inn": make_valid_inn(f"77{number % 10**8:08d}"), "oms": make_valid_oms(f"77{number:09d}0000"),
                       "passport_unit_code": "770-001", "passport_issued_by": "ОВД района Хамовники г. Москвы",
                       "birth_date": birth.strftime("%d.%m.%Y"), "passport_issued_on": issued.strftime("%d.%m.%Y"),
                       "phone": "+79161234567", "email": f"applicant{i}@example.ru"})
    with medflow.db.write() as session:
        session.execute(insert(SnilsRecord.__table__), snils_rows)
        session.execute(insert(PassportRecord.__table__), passport_rows)
    return people


def upload_documents(medflow: MedFlow, user: str = "bench") -> dict[str, str]:
    """A passport PDF and a 300 dpi ОМС scan, stored as an applicant would upload them."""
    store = store_for(medflow.store.services[handlers.services.SERVICES_KEY])
    with medflow.db.write() as session:
        return {"passport_scan": store.save(session, sample_file("pdf"), "passport.pdf", uploaded_by=user).id,
                "oms_scan": store.save(session, sample_file("jpeg", dpi=300), "oms.jpg", uploaded_by=user).id}


def medbook_form(person: dict[str, Any], documents: dict[str, str]) -> dict[str, Any]:
    """The data of the «submit_application» form of the medical book procedure."""
    return {"filed_by": "self", "applicant": person, "medbook": {"type": "regular", "work_category": "medical"},
            "documents": documents, "consent_personal_data": True}
