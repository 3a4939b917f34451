"""Uploaded documents: a store on disk keyed by a generated id, and the checks of DOMAIN.md.

The type of a file is decided by its content (magic bytes), never by its name: a text file or a
JPEG called ``passport.pdf`` is rejected. Limits come from the ``documents.*`` settings, because
they differ per service (accreditation through ФРМР: PDF only, 10 MB in all).

Task data keeps only document ids; the bytes stay in the store (``paths.documents``).

>>> store = DocumentStore(Path("instance/documents"))          # doctest: +SKIP
>>> doc = store.save(session, content, "passport.pdf", uploaded_by="ivanov")  # doctest: +SKIP
>>> doc.status                                                   # doctest: +SKIP
'Готово к проверке'
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filetype
from PIL import Image, UnidentifiedImageError
from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.config import Settings
from engine.handler_registry import CallContext, handler
from handlers.service_models import StoredDocument
from handlers.services import environment, session_for

READY, CHECKING, CONFIRMED, REJECTED = "Готово к проверке", "На проверке", "Подтверждено", "Отклонено"
MB = 1024 * 1024
_ID = re.compile(r"[0-9a-f]{32}")
_DOCUMENTS = StoredDocument.__table__
# Core, not session.add(): the ORM's flush of this one row cost three times the INSERT itself
# (py-spy, an upload through the API on PostgreSQL).
_INSERT_DOCUMENT = insert(_DOCUMENTS)
# A package's check reads columns and marks what passed in one UPDATE, not through the ORM.
_PACKAGE = (select(_DOCUMENTS.c.id, _DOCUMENTS.c.size, _DOCUMENTS.c.problems, _DOCUMENTS.c.original_name)
            .where(_DOCUMENTS.c.id.in_(bindparam("b_ids", expanding=True))))
_TO_CHECKING = (update(_DOCUMENTS).where(_DOCUMENTS.c.id.in_(bindparam("b_ids", expanding=True)))
                .values(status=CHECKING, business_key=func.coalesce(_DOCUMENTS.c.business_key, bindparam("b_key"))))
# Letters, digits, "_", "-" and dots between words; no spaces, no brackets, no quotes.
_NAME = re.compile(r"[A-Za-zА-Яа-яЁё0-9]+(?:[_.\-][A-Za-zА-Яа-яЁё0-9]+)*")
_TYPE_NAMES = {"pdf": "PDF", "jpg": "JPG", "png": "PNG"}
_EXTENSIONS = {"pdf": ("pdf",), "jpg": ("jpg", "jpeg"), "png": ("png",)}

DOCUMENT_TITLES = {
    "passport_scan": "скан паспорта",
    "oms_scan": "скан полиса ОМС",
    "health_certificate": "справка о состоянии здоровья",
    "power_of_attorney": "доверенность",
    "birth_certificate": "свидетельство о рождении",
    "representative_consent": "согласие законного представителя",
    "representative_passport": "паспорт представителя",
    "diploma": "диплом",
    "employment_certificate": "справка с места работы или трудовой договор",
    "licence": "лицензия или сертификат специалиста",
    "internship_certificate": "документ об интернатуре или ординатуре",
    "work_record": "справка о трудовой деятельности",
    "portfolio_report": "отчёт о профессиональной деятельности",
    "education_certificates": "документы о непрерывном образовании",
    "apostille": "апостиль или нотариальный перевод",
    "residency_certificate": "документ об окончании ординатуры",
    "employer_request": "ходатайство работодателя",
}


@dataclass(frozen=True)
class DocumentLimits:
    max_file_mb: float = 5
    max_total_mb: float = 20
    min_dpi: int = 300
    max_dpi: int = 1200
    allowed_types: tuple[str, ...] = ("pdf", "jpg", "png")
    max_name_length: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentLimits:
        get = settings.get
        return cls(
            max_file_mb=float(get("documents.max_file_mb", 5)),
            max_total_mb=float(get("documents.max_total_mb", 20)),
            min_dpi=int(get("documents.min_dpi", 300)),
            max_dpi=int(get("documents.max_dpi", 1200)),
            allowed_types=tuple(get("documents.allowed_types", ["pdf", "jpg", "png"])),
            max_name_length=int(get("documents.max_name_length", 100)),
        )


@dataclass(frozen=True)
class Facts:
    """What the content says about itself."""

    size: int
    detected_type: str | None  # pdf | jpg | png | another extension | None (unknown)
    mime: str | None
    dpi: tuple[int, int] | None = None
    width: int | None = None
    height: int | None = None
    unreadable: bool = False


MAX_PAGE_INCHES = 17.0


def inspect(content: bytes) -> Facts:
    kind = filetype.guess(content)
    detected = kind.extension if kind else None
    mime = kind.mime if kind else None
    if detected not in ("jpg", "png"):
        return Facts(len(content), detected, mime)
    try:
        with Image.open(io.BytesIO(content)) as image:
            raw = image.info.get("dpi")
            dpi = (round(float(raw[0])), round(float(raw[1]))) if raw else None
            return Facts(len(content), detected, mime, dpi, image.width, image.height)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return Facts(len(content), detected, mime, unreadable=True)


def _mb(value: float) -> str:
    return f"{value:g} МБ"


def name_problem(name: str, limits: DocumentLimits) -> str | None:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return "У файла нет расширения: ожидается .pdf, .jpg или .png"
    if len(name) > limits.max_name_length:
        return f"Имя файла длиннее {limits.max_name_length} символов"
    if _NAME.fullmatch(stem) is None:
        return "Имя файла должно состоять из букв, цифр, «_» и «-», без пробелов и спецсимволов"
    return None


def check_facts(facts: Facts, name: str, limits: DocumentLimits) -> list[str]:
    """Problems of one file, in the order a person should fix them."""
    problems = []
    allowed = ", ".join(_TYPE_NAMES.get(t, t.upper()) for t in limits.allowed_types)
    if facts.detected_type not in limits.allowed_types:
        what = f"это {facts.detected_type.upper()}" if facts.detected_type else "тип не распознан"
        problems.append(f"Недопустимый тип файла ({what}); допускаются {allowed}")
    else:
        ext = name.rpartition(".")[2].lower()
        if ext not in _EXTENSIONS.get(facts.detected_type, (facts.detected_type,)):
            problems.append(
                f"Расширение .{ext} не соответствует содержимому: по содержимому это "
                f"{_TYPE_NAMES[facts.detected_type]}"
            )
    if facts.size > limits.max_file_mb * MB:
        problems.append(f"Файл больше {_mb(limits.max_file_mb)} ({facts.size / MB:.1f} МБ)")
    if facts.size == 0:
        problems.append("Файл пустой")
    naming = name_problem(name, limits)
    if naming:
        problems.append(naming)
    if facts.unreadable:
        problems.append("Изображение не читается: файл повреждён")
    elif facts.detected_type in ("jpg", "png"):
        if facts.dpi is None:
            problems.append(f"В изображении не указано разрешение; нужен скан {limits.min_dpi}–{limits.max_dpi} dpi")
        elif not all(limits.min_dpi <= d <= limits.max_dpi for d in facts.dpi):
            problems.append(
                f"Разрешение {facts.dpi[0]}×{facts.dpi[1]} dpi; нужен скан {limits.min_dpi}–{limits.max_dpi} dpi"
            )
        elif facts.width and facts.height and max(facts.width / facts.dpi[0], facts.height / facts.dpi[1]) > MAX_PAGE_INCHES:
            # A few hundred bytes can declare a gigapixel image (a decompression bomb); a scanned
            # document page is at most A3 (16.5 in) at its own resolution.
            problems.append(
                f"Размер изображения {facts.width}×{facts.height} точек при {facts.dpi[0]} dpi больше формата A3 — "
                "это не скан документа"
            )
    return problems


class DocumentStore:
    """Files on disk under ``root/<id[:2]>/<id>``; metadata in the ``documents`` table."""

    def __init__(self, root: Path, limits: DocumentLimits | None = None) -> None:
        self.root = root
        self.limits = limits or DocumentLimits()

    def _path(self, document_id: str) -> Path:
        if not isinstance(document_id, str) or _ID.fullmatch(document_id) is None:
            raise ValueError(f"неверный идентификатор документа: {document_id!r}")
        return self.root / document_id[:2] / document_id

    def save(
        self, session: Session, content: bytes, name: str, uploaded_by: str | None = None,
        business_key: str | None = None,
    ) -> StoredDocument:
        """Store the bytes whatever they are; the returned row says whether they pass the checks."""
        document_id = uuid.uuid4().hex
        path = self._path(document_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".part")
        temporary.write_bytes(content)
        os.replace(temporary, path)  # a reader never sees half a file
        facts = inspect(content)
        problems = check_facts(facts, name, self.limits)
        values = dict(
            id=document_id, original_name=name.replace("\x00", "")[:300], size=facts.size,
            sha256=hashlib.sha256(content).hexdigest(), detected_type=facts.detected_type,
            detected_mime=facts.mime, dpi_x=facts.dpi[0] if facts.dpi else None,
            dpi_y=facts.dpi[1] if facts.dpi else None, width=facts.width, height=facts.height,
            status=REJECTED if problems else READY, problems=problems, uploaded_by=uploaded_by,
            business_key=business_key, uploaded_at=clock.now(),
        )
        session.connection().execute(_INSERT_DOCUMENT, values)
        return StoredDocument(**values)  # what was stored; not tracked by the session

    def read(self, document_id: str) -> bytes:
        return self._path(document_id).read_bytes()


def store_for(env: Any) -> DocumentStore:
    return DocumentStore(env.path("paths.documents", "instance/documents"), DocumentLimits.from_settings(env.settings))


def _title(kind: str) -> str:
    return DOCUMENT_TITLES.get(kind, kind)


def check_package(
    session: Session, documents: dict[str, Any], required: list[str], limits: DocumentLimits,
    section: str = "documents",
) -> tuple[dict[str, str], list[Row[Any]]]:
    """Errors per ``<section>.<kind>`` (the field's path in the form) and the ids, sizes and names
    of the files that passed."""
    errors: dict[str, str] = {}
    ids = {kind: value for kind, value in (documents or {}).items() if value}
    for kind in required:
        if kind not in ids:
            errors[f"{section}.{kind}"] = f"Не приложен документ: {_title(kind)}"
    rows = {}
    if ids:
        found = session.connection().execute(_PACKAGE, {"b_ids": [str(v) for v in ids.values()]})
        rows = {row.id: row for row in found}
    passed, total = [], 0
    for kind, document_id in ids.items():
        row = rows.get(str(document_id))
        if row is None:
            errors[f"{section}.{kind}"] = f"Документ «{_title(kind)}» не найден: загрузите его заново"
            continue
        total += row.size
        problems = list(row.problems or [])
        if problems:
            errors[f"{section}.{kind}"] = f"{row.original_name}: " + "; ".join(problems)
        else:
            passed.append(row)
    if total > limits.max_total_mb * MB:
        errors[section] = f"Общий объём документов {total / MB:.1f} МБ больше {_mb(limits.max_total_mb)}"
    return errors, passed


_CHECK_PARAMS = {
    "type": "object",
    "required": ["documents"],
    "properties": {
        "documents": {"type": ["object", "null"]},
        "required": {"type": "array", "items": {"type": "string"}},
        "section": {"type": "string"},
    },
}


@handler("check_documents", params=_CHECK_PARAMS)
def check_documents(
    documents: dict[str, Any] | None, ctx: CallContext, required: list[str] | None = None, section: str = "documents"
) -> dict[str, Any]:
    """Type by content, size, total size, dpi, names, and the required set; passed files go «На проверке»."""
    env = environment(ctx)
    session = session_for(ctx)
    limits = DocumentLimits.from_settings(env.settings)
    errors, passed = check_package(session, documents or {}, required or [], limits, section)
    if passed:
        session.connection().execute(_TO_CHECKING, {"b_ids": [row.id for row in passed], "b_key": ctx.business_key})
    return {"ok": not errors, "errors": errors}


@handler("confirm_documents", params={"type": "object", "properties": {"documents": {"type": ["object", "null"]}}})
def confirm_documents(documents: dict[str, Any] | None, ctx: CallContext) -> dict[str, Any]:
    """The operator accepted the package: every file of it becomes «Подтверждено»."""
    ids = [str(v) for v in (documents or {}).values() if v]
    session = session_for(ctx)
    rows = list(session.scalars(select(StoredDocument).where(StoredDocument.id.in_(ids)))) if ids else []
    for row in rows:
        row.status = CONFIRMED
    return {"confirmed": len(rows)}
