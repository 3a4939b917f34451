"""Local stand-ins for the state registries (ФМС passports, СФР СНИЛС, ФРМР, ЕГИСЗ medbooks).

The real registries are not reachable from the product's network; these tables back the local
adapters in :mod:`handlers.registries` and are seeded with demo records by
:mod:`handlers.demo_registry_data`. Table names start with ``reg_`` so that nobody mistakes them
for the product's own data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base


class PassportRecord(Base):
    """МВД/ФМС: issued passports and whether they are still valid."""

    __tablename__ = "reg_passports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Normalized "4510 123456" (engine.identifiers.normalize_passport).
    series_number: Mapped[str] = mapped_column(String(11), unique=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(300))
    unit_code: Mapped[str] = mapped_column(String(7))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    invalid_reason: Mapped[str | None] = mapped_column(String(300))


class SnilsRecord(Base):
    """СФР (бывш. ПФР): СНИЛС and the person it belongs to."""

    __tablename__ = "reg_snils"
    snils: Mapped[str] = mapped_column(String(11), primary_key=True)
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))  # М | Ж


class FrmrWorker(Base):
    """ФРМР: a medical worker as the employing organization entered them."""

    __tablename__ = "reg_frmr_workers"
    snils: Mapped[str] = mapped_column(String(11), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(300))
    birth_date: Mapped[date] = mapped_column(Date)
    speciality: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    employer_ogrn: Mapped[str | None] = mapped_column(String(15))
    employer_name: Mapped[str | None] = mapped_column(String(300))
    # Education, certificates, accreditations, confirmed qualification documents.
    documents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(30), default="active")
    updated_at: Mapped[datetime | None]


class EgiszMedbook(Base):
    """ЕГИСЗ: electronic personal medical books (order No. 90н)."""

    __tablename__ = "reg_egisz_medbooks"
    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    snils: Mapped[str] = mapped_column(String(11), index=True)
    full_name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(60))
    issued_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    business_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    note: Mapped[str | None] = mapped_column(Text)


REGISTRY_TABLES = [m.__table__ for m in (PassportRecord, SnilsRecord, FrmrWorker, EgiszMedbook)]
