"""Issued documents: the e-medbook and certificates as PDF with a QR code that verifies them.

The QR code encodes ``<web.public_url>/verify/<number>``; :func:`verify_certificate` is what that
public page shows (masked name, validity, status), so a printout can be checked by anyone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from sqlalchemy import select

from engine import clock
from engine.business_keys import allocate_business_key
from engine.db import Database
from engine.handler_registry import CallContext, handler
from handlers.documents import store_for
from handlers.registries import egisz_registry
from handlers.service_models import IssuedCertificate
from handlers.services import environment, session_for

FONT_NAME = "MedflowSans"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
KINDS: dict[str, dict[str, Any]] = {
    "medbook": {"prefix": "ЭМК", "title": "Электронная личная медицинская книжка", "months": 12,
                "document": "Электронная медкнижка"},
    "accreditation": {"prefix": "СА", "title": "Свидетельство об аккредитации специалиста", "months": 60,
                      "document": "Свидетельство об аккредитации"},
    "temporary_accreditation": {"prefix": "СВА", "title": "Свидетельство о временной аккредитации",
                                "months": 6, "document": "Свидетельство о временной аккредитации"},
    "qualification": {"prefix": "ПК", "title": "Подтверждение квалификации", "months": 60,
                      "document": "Подтверждение квалификации"},
}


def _font(path: str | None) -> str:
    """A TTF with Cyrillic glyphs (the built-in PDF fonts have none).

    ``asciiReadable=False``: the embedded subset holds only the glyphs a certificate uses, not all
    of ASCII besides. Text looks and extracts the same (the ToUnicode map stays), but the subset is
    a third smaller, so building, compressing and storing it costs less on every certificate."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    for candidate in ([path] if path else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont(FONT_NAME, candidate, asciiReadable=False))
            return FONT_NAME
    raise RuntimeError("не найден шрифт с кириллицей для PDF: укажите certificates.font (путь к .ttf)")


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


# Any of the eight QR masks reads; letting the library score all eight for the "best" one cost
# ~70 ms a certificate — most of issuing one.
QR_MASK = 0

# The smallest QR version (size) that holds the data depends only on the mode and length of each
# segment qrcode splits it into, and verification URLs differ only in the certificate number, so
# the version is looked up here instead of searched for on every certificate (``make(fit=True)``
# even runs that search twice). Keys are a few (mode, length) pairs: the dict stays tiny; threads
# racing on a miss both store the same value.
_QR_VERSIONS: dict[tuple[tuple[int, int], ...], int] = {}


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR modules of ``text``, row by row, without the quiet zone."""
    code = qrcode.QRCode(border=0, mask_pattern=QR_MASK)
    code.add_data(text)
    segments = tuple((segment.mode, len(segment)) for segment in code.data_list)
    version = _QR_VERSIONS.get(segments)
    if version is None:
        version = _QR_VERSIONS[segments] = code.best_fit()
    code.version = version
    code.make(fit=False)
    return code.get_matrix()


def draw_qr(pdf: canvas.Canvas, text: str, x: float, y: float, size: float) -> None:
    """The QR code as vector rectangles (one per run of dark modules): sharp at any zoom, and
    no raster image to encode into the PDF."""
    matrix = qr_matrix(text)
    cell = size / len(matrix)
    path = pdf.beginPath()
    for row, cells in enumerate(matrix):
        top = y + size - (row + 1) * cell
        col = 0
        while col < len(cells):
            if not cells[col]:
                col += 1
                continue
            end = col
            while end < len(cells) and cells[end]:
                end += 1
            path.rect(x + col * cell, top, (end - col) * cell, cell)
            col = end
    pdf.drawPath(path, stroke=0, fill=1)


@dataclass(frozen=True)
class CertificateContent:
    title: str
    number: str
    holder_name: str
    lines: list[tuple[str, str]]
    verify_url: str


def render_pdf(content: CertificateContent, font_path: str | None = None) -> bytes:
    font = _font(font_path)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{content.title} № {content.number}")
    width, height = A4
    pdf.setFont(font, 16)
    pdf.drawCentredString(width / 2, height - 30 * mm, content.title)
    pdf.setFont(font, 13)
    pdf.drawCentredString(width / 2, height - 40 * mm, f"№ {content.number}")
    y = height - 60 * mm
    for label, value in [("Владелец", content.holder_name), *content.lines]:
        pdf.setFont(font, 10)
        pdf.drawString(25 * mm, y, f"{label}:")
        pdf.setFont(font, 11)
        pdf.drawString(75 * mm, y, str(value))
        y -= 8 * mm
    draw_qr(pdf, content.verify_url, width - 70 * mm, 25 * mm, 45 * mm)
    pdf.setFont(font, 8)
    pdf.drawString(25 * mm, 30 * mm, "Проверить подлинность: отсканируйте QR-код или откройте")
    pdf.drawString(25 * mm, 25 * mm, content.verify_url)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def verify_url(public_url: str, number: str) -> str:
    return f"{public_url.rstrip('/')}/verify/{quote(number)}"


_ISSUE_PARAMS = {
    "type": "object",
    "required": ["kind", "holder"],
    "properties": {
        "kind": {"enum": sorted(KINDS)},
        "holder": {"type": "object", "required": ["last_name", "first_name"]},
        "details": {"type": ["object", "null"]},
        "months": {"type": ["integer", "null"], "minimum": 1},
    },
}


@handler("issue_certificate", params=_ISSUE_PARAMS)
def issue_certificate(
    kind: str, holder: dict[str, Any], ctx: CallContext, details: dict[str, Any] | None = None,
    months: int | None = None,
) -> dict[str, Any]:
    """Number, validity, PDF with QR code; a medbook is also recorded in ЕГИСЗ."""
    session = session_for(ctx)
    existing = session.scalar(select(IssuedCertificate).where(IssuedCertificate.idempotency_key == ctx.idempotency_key))
    if existing is not None:
        return _result(existing, environment(ctx).setting("web.public_url", "http://127.0.0.1:8080"))
    env = environment(ctx)
    spec = KINDS[kind]
    zone = ZoneInfo(env.settings.timezone)
    today = clock.now().astimezone(zone).date()
    validity = months or int(env.setting(f"certificates.{kind}.validity_months", spec["months"]))
    valid_until = add_months(today, validity) - timedelta(days=1)
    prefix = str(env.setting(f"certificates.{kind}.prefix", spec["prefix"]))
    number = allocate_business_key(session, prefix, today.year)
    name = " ".join(str(holder.get(k) or "") for k in ("last_name", "first_name", "middle_name")).strip()
    public_url = str(env.setting("web.public_url", "http://127.0.0.1:8080"))
    lines = [("Действует с", today.strftime("%d.%m.%Y")), ("Действует по", valid_until.strftime("%d.%m.%Y"))]
    lines += [(str(k), str(v)) for k, v in (details or {}).items()]
    pdf = render_pdf(CertificateContent(spec["title"], number, name, lines, verify_url(public_url, number)),
                     env.setting("certificates.font"))
    document = store_for(env).save(session, pdf, f"{number}.pdf", uploaded_by="system", business_key=ctx.business_key)
    row = IssuedCertificate(
        number=number, idempotency_key=ctx.idempotency_key, kind=kind, holder_name=name,
        snils=holder.get("snils"), business_key=ctx.business_key, details=details or {}, valid_from=today,
        valid_until=valid_until, document_id=document.id, status="valid", issued_at=clock.now(),
    )
    session.add(row)
    if kind == "medbook":
        egisz_registry(env).record_medbook(ctx, {
            "number": number, "snils": holder.get("snils"), "full_name": name,
            "category": (details or {}).get("Категория работ", "—"), "valid_from": today, "valid_until": valid_until,
        })
    session.flush()
    return _result(row, public_url)


def _result(row: IssuedCertificate, public_url: str) -> dict[str, Any]:
    available_by = row.issued_at + timedelta(hours=24)
    return {
        "number": row.number, "kind": row.kind, "valid_from": row.valid_from.isoformat(),
        "valid_until": row.valid_until.isoformat(), "valid_until_text": row.valid_until.strftime("%d.%m.%Y"),
        "document_id": row.document_id, "verify_url": verify_url(public_url, row.number),
        "available_by": available_by.isoformat(),
    }


def mask_name(full_name: str) -> str:
    """«Иванова Мария Петровна» → «Иванова М. П.»: enough to compare with a passport, no more."""
    parts = full_name.split()
    return " ".join(parts[:1] + [f"{p[0]}." for p in parts[1:]]) if parts else ""


def verify_certificate(db: Database, number: str, today: date | None = None) -> dict[str, Any] | None:
    """What the public page /verify/<number> shows; None when there is no such certificate."""
    with db.read() as session:
        row = session.get(IssuedCertificate, number)
        if row is None:
            return None
        today = today or clock.now().date()
        status = row.status
        if status == "valid" and row.valid_until < today:
            status = "expired"
        labels = {"valid": "Действителен", "expired": "Срок действия истёк", "revoked": "Аннулирован"}
        return {"number": row.number, "kind": row.kind, "title": KINDS.get(row.kind, {}).get("title", row.kind),
                "holder": mask_name(row.holder_name), "valid_from": row.valid_from.isoformat(),
                "valid_until": row.valid_until.isoformat(), "status": status, "status_text": labels[status]}
