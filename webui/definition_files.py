"""The BPMN/DMN files of deployed definitions, for the viewer and the modeler.

The engine keeps them in ``bundles.files`` but offers no query for them yet, so this module reads
the two tables in a read-only session. It is the web UI's only direct read of engine tables
besides the document store (the wanted ``Queries.definition_files`` is in the report).
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.models import Bundle, Definition
from webui.display import medflow

FORMS_PREFIX = "forms/"


def _decode(text: str) -> str:
    if text.startswith("base64:"):
        return base64.b64decode(text[len("base64:"):]).decode("utf-8", errors="replace")
    return text


def definition(process_key: str, version: int | None = None) -> dict[str, Any]:
    """The newest (or the given) version of a process key with its diagram files."""
    query = select(Definition).where(Definition.process_key == process_key)
    query = query.where(Definition.version == version) if version else query.order_by(Definition.version.desc())
    with medflow().db.read() as session:
        row = session.scalar(query.limit(1))
        if row is None:
            raise NotFound(f"Процесс «{process_key}» не развёрнут", process_key=process_key)
        bundle = session.get(Bundle, row.bundle_hash)
        files = {name: _decode(text) for name, text in (bundle.files if bundle else {}).items()
                 if not name.startswith(FORMS_PREFIX)}
        return {"id": row.id, "process_key": row.process_key, "name": row.name, "version": row.version,
                "files": files, "main_file": main_file(files, row.process_key)}


def by_id(definition_id: int) -> dict[str, Any]:
    with medflow().db.read() as session:
        row = session.get(Definition, definition_id)
        if row is None:
            raise NotFound(f"Версия определения {definition_id} не найдена")
        key, version = row.process_key, row.version
    return definition(key, version)


def main_file(files: dict[str, str], process_key: str) -> str | None:
    """The file that defines ``process_key`` (a bundle also holds called processes and tables)."""
    for name, text in files.items():
        if name.endswith(".bpmn") and f'id="{process_key}"' in text:
            return name
    bpmn = [n for n in files if n.endswith(".bpmn")]
    return bpmn[0] if bpmn else None
