"""Deployed definitions: bundles of files identified by content hash, parsed once and cached.

A process key's bundle is the file that defines it, the files of the processes it calls
(transitively), the DMN tables, and the form schemas its user tasks reference. Deploying files
whose bundle hash already exists for that key creates no new version; a running instance keeps
the bundle it started on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import Database
from engine.lint import lint_bundle
from engine.models import Bundle, Definition
from engine.parsing import DefinitionError, ParsedBundle, Problem, analyse_bundle, parse_bundle

FORMS_PREFIX = "forms/"
BASE64_PREFIX = "base64:"


@dataclass(frozen=True)
class DeployResult:
    process_key: str
    name: str
    version: int
    bundle_hash: str
    created: bool

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def collect_files(paths: Sequence[Path]) -> dict[str, bytes]:
    """BPMN and DMN files under ``paths``, keyed by file name."""
    files: dict[str, bytes] = {}
    for path in paths:
        candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.suffix.lower() in (".bpmn", ".dmn") and candidate.is_file():
                files[candidate.name] = candidate.read_bytes()
    return files


def _encode_file(content: bytes) -> str:
    # Files are kept as text where they are UTF-8 (readable in the database); others, such as
    # ISO-8859-1 diagrams from other modelers, as base64.
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return BASE64_PREFIX + base64.b64encode(content).decode("ascii")


def decode_file(text: str) -> bytes:
    if text.startswith(BASE64_PREFIX):
        return base64.b64decode(text[len(BASE64_PREFIX):])
    return text.encode("utf-8")


def bundle_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


_LATEST = (select(Definition).where(Definition.process_key == bindparam("process_key"))
           .order_by(Definition.version.desc()).limit(1))


class DefinitionStore:
    """Deploys bundles and hands out parsed specs, cached in memory by hash."""

    def __init__(self, db: Database, forms_dir: Path, handler_names: Sequence[str]) -> None:
        self.db = db
        self.forms_dir = forms_dir
        self.handler_names = list(handler_names)
        self._parsed: dict[str, ParsedBundle] = {}
        self._forms: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        # Called in the deploy transaction for every new version: (session, definition, bundle).
        self.deploy_listeners: list[Callable[[Session, Definition, ParsedBundle], None]] = []

    def _form_files(self, bundle: ParsedBundle) -> dict[str, bytes]:
        forms: dict[str, bytes] = {}
        for _key, _element, schema, ui_schema in bundle.user_task_forms():
            for name in (schema, ui_schema):
                if name and (self.forms_dir / name).is_file():
                    forms[name] = (self.forms_dir / name).read_bytes()
        return forms

    def lint(self, files: dict[str, bytes]) -> list[Problem]:
        """Parse and lint problems together, so an analyst sees everything in one pass."""
        bundle, _ = analyse_bundle(files)
        return lint_bundle(files, self.handler_names, self._form_files(bundle))

    def deploy(self, files: dict[str, bytes], actor: str = "system") -> list[DeployResult]:
        """Lint, then store a new version of every process key whose bundle changed."""
        problems = self.lint(files)
        if problems:
            raise DefinitionError(problems)
        parsed = parse_bundle(files)
        forms = self._form_files(parsed)
        results = []
        with self.db.write() as session:
            for key in parsed.process_keys():
                content = self._bundle_files_for(parsed, key, files, forms)
                digest = bundle_hash(content)
                result = self._store(session, key, parsed.process_names().get(key, key), digest, content, actor)
                if result.created:
                    session.flush()
                    definition = self.latest(session, key)
                    for listener in self.deploy_listeners:
                        listener(session, definition, parsed)
                results.append(result)
        return results

    def _bundle_files_for(
        self, parsed: ParsedBundle, key: str, files: dict[str, bytes], forms: dict[str, bytes]
    ) -> dict[str, bytes]:
        spec, subprocess_specs = parsed.spec_for(key)
        needed = {s.file for s in [spec, *subprocess_specs.values()] if getattr(s, "file", None)}
        content = {name: data for name, data in files.items() if name in needed or name.endswith(".dmn")}
        keys = {key, *subprocess_specs}
        for proc, _element, schema, ui_schema in parsed.user_task_forms():
            if proc in keys:
                for name in (schema, ui_schema):
                    if name and name in forms:
                        content[FORMS_PREFIX + name] = forms[name]
        return content

    def _store(
        self, session: Session, key: str, name: str, digest: str, content: dict[str, bytes], actor: str
    ) -> DeployResult:
        existing = session.scalar(
            select(Definition).where(Definition.process_key == key, Definition.bundle_hash == digest)
        )
        if existing is not None:
            return DeployResult(key, existing.name, existing.version, digest, False)
        if session.get(Bundle, digest) is None:
            session.add(
                Bundle(
                    hash=digest,
                    files={n: _encode_file(c) for n, c in content.items()},
                    created_at=clock.now(),
                )
            )
            session.flush()
        version = (session.scalar(select(func.max(Definition.version)).where(Definition.process_key == key)) or 0) + 1
        session.add(
            Definition(
                process_key=key, version=version, name=name, bundle_hash=digest,
                deployed_at=clock.now(), deployed_by=actor,
            )
        )
        return DeployResult(key, name, version, digest, True)

    def latest(self, session: Session, key: str) -> Definition | None:
        return session.scalar(_LATEST, {"process_key": key})

    def newest(self, session: Session) -> list[Definition]:
        """The newest version of every deployed process, by key."""
        keys = session.scalars(select(Definition.process_key).distinct().order_by(Definition.process_key)).all()
        return [row for row in (self.latest(session, key) for key in keys) if row is not None]

    def parsed(self, session: Session, digest: str) -> ParsedBundle:
        bundle = self._parsed.get(digest)
        if bundle is not None:
            return bundle
        row = session.get(Bundle, digest)
        if row is None:
            raise LookupError(f"пакет определений {digest} не найден")
        files = {n: decode_file(c) for n, c in row.files.items() if not n.startswith(FORMS_PREFIX)}
        forms = {n[len(FORMS_PREFIX):]: json.loads(c) for n, c in row.files.items() if n.startswith(FORMS_PREFIX)}
        bundle = parse_bundle(files)
        with self._lock:
            self._parsed[digest] = bundle
            self._forms[digest] = forms
        return bundle

    def form(self, session: Session, digest: str, name: str | None) -> dict[str, Any] | None:
        if not name:
            return None
        self.parsed(session, digest)
        return self._forms.get(digest, {}).get(name)
