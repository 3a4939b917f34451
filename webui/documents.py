"""Uploads and downloads through the handlers' document store.

The store decides the type by content and keeps the file under a generated id: the name a
person's browser sent is shown, never used as a path. Who may read a document: its uploader,
the applicant whose application it belongs to, and staff (operators, supervisors, admins).

The store's API takes a database session, so this module opens the engine's transaction for it;
it is the only place in the web UI that does so (see the report for the wanted engine helper).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, current_app, send_file
from werkzeug.datastructures import FileStorage

from engine.accounts import AccountInfo
from handlers.documents import DocumentLimits, store_for
from handlers.service_models import StoredDocument
from handlers.services import SERVICES_KEY
from webui.display import medflow

_MIMES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    problems: list[str]
    meta: dict[str, Any]  # as describe() gives it: the response needs no second read


def _medflow() -> Any:
    return current_app.extensions["medflow"]


def _store() -> Any:
    return store_for(_medflow().store.services[SERVICES_KEY])


def limits() -> DocumentLimits:
    return DocumentLimits.from_settings(_medflow().settings)


def limits_text() -> str:
    lim = limits()
    kinds = ", ".join(t.upper() for t in lim.allowed_types)
    return (f"{kinds}; до {lim.max_file_mb:g} МБ каждый и {lim.max_total_mb:g} МБ все вместе; сканы "
            f"{lim.min_dpi}–{lim.max_dpi} dpi; имя файла без пробелов и спецсимволов")


def save_upload(file: FileStorage, uploaded_by: str, business_key: str | None = None) -> Upload:
    name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:300] or "файл"
    # Read one byte past the limit: enough to say "too large" without holding more in memory.
    cap = int(limits().max_file_mb * 1024 * 1024) + 1
    content = file.stream.read(cap)
    with _medflow().db.write_one() as session:  # the document row is one INSERT
        row = _store().save(session, content, name, uploaded_by=uploaded_by, business_key=business_key)
        return Upload(row.id, row.original_name, list(row.problems or []), _meta(row))


def describe(document_id: str) -> dict[str, Any] | None:
    if not isinstance(document_id, str) or len(document_id) != 32:
        return None
    with _medflow().db.read() as session:
        row = session.get(StoredDocument, document_id)
        return None if row is None else _meta(row)


def _meta(row: StoredDocument) -> dict[str, Any]:
    return {"id": row.id, "name": row.original_name, "size": row.size, "type": row.detected_type,
            "status": row.status, "problems": list(row.problems or []), "uploaded_by": row.uploaded_by,
            "business_key": row.business_key, "uploaded_at": row.uploaded_at}


def may_read(who: AccountInfo, meta: dict[str, Any]) -> bool:
    """Staff read any document; an applicant the ones they uploaded and those of their own
    applications (an issued certificate: uploaded by the system), asked of that one application."""
    if who.can("operator", "supervisor"):
        return True
    if meta["uploaded_by"] == who.username:
        return True
    key = meta["business_key"]
    return who.role == "applicant" and bool(key) and medflow().queries.started_by([key]).get(key) == who.username


def send(meta: dict[str, Any], inline: bool) -> Response:
    """The bytes with the type the content has; anything not PDF/JPG/PNG only as a download."""
    mime = _MIMES.get(meta["type"] or "")
    try:
        content = _store().read(meta["id"])
    except (ValueError, OSError):
        abort(404)
    return send_file(io.BytesIO(content), mimetype=mime or "application/octet-stream",
                     as_attachment=not (inline and mime), download_name=meta["name"] or f"{meta['id']}.bin",
                     max_age=0)
