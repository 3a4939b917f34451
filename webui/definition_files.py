"""The BPMN/DMN files of deployed definitions, for the viewer and the modeler (from the engine's
queries: the web UI never reads engine tables itself)."""

from __future__ import annotations

from typing import Any

from webui.display import medflow


def definition(process_key: str, version: int | None = None) -> dict[str, Any]:
    """The newest (or the given) version of a process key with its diagram files."""
    found = medflow().queries.definition_files(process_key, version)
    return {**found, "main_file": main_file(found["files"], process_key)}


def by_id(definition_id: int) -> dict[str, Any]:
    found = medflow().queries.definition_by_id(definition_id)
    return {**found, "main_file": main_file(found["files"], found["process_key"])}


def main_file(files: dict[str, str], process_key: str) -> str | None:
    """The file that defines ``process_key`` (a bundle also holds called processes and tables)."""
    for name, text in files.items():
        if name.endswith(".bpmn") and f'id="{process_key}"' in text:
            return name
    bpmn = [n for n in files if n.endswith(".bpmn")]
    return bpmn[0] if bpmn else None
