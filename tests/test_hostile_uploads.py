"""Hostile uploads to the document store (handlers.documents): lying contents, bombs, traversal names.

Whatever arrives is stored under a generated id inside the store and judged by its content:
rejected with a Russian message when it is not an acceptable document, and nothing is ever
written outside the store, whatever the name says.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.documents import READY, REJECTED, DocumentStore
from tests.faults.hostile_files import LYING_CONTENTS, QUIET_BOMBS, TRAVERSAL_NAMES, zlib_bomb_png
from tests.faults.junk import FUZZ
from tests.medflow_harness import pdf_bytes

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_ID_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")


def _snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def store(medflow, tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "area" / "documents")


def _save(medflow, store: DocumentStore, content: bytes, name: str):
    area = store.root.parent.parent  # everything the test may see written: the store and its neighbours
    before = _snapshot(area)
    with medflow.db.write() as session:
        row = store.save(session, content, name, uploaded_by="hostile")
        status, problems, doc_id, stored_name = row.status, list(row.problems or []), row.id, row.original_name
    written = _snapshot(area) - before
    assert written == {f"area/documents/{doc_id[:2]}/{doc_id}"}, written  # one file, named by id, in the store
    assert _ID_PATH.fullmatch(f"{doc_id[:2]}/{doc_id}")
    assert store.read(doc_id) == content
    assert len(stored_name) <= 300
    return status, problems


def _assert_rejected(status: str, problems: list[str], fragment: str = "") -> None:
    assert status == REJECTED and problems, problems
    assert all(CYRILLIC.search(p) for p in problems), problems  # every message is for a person, in Russian
    if fragment:
        assert any(fragment in p for p in problems), problems


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # content checks: no DB in them


@SQLITE_ONLY
def test_lying_or_broken_contents_are_rejected(medflow, store):
    for case, (content, fragment) in sorted(LYING_CONTENTS.items()):
        name = "scan.png" if case.startswith(("png_5", "truncated")) else "passport.pdf"
        status, problems = _save(medflow, store, content, name)
        assert status == REJECTED and any(fragment in p for p in problems), (case, problems)
        _assert_rejected(status, problems)


@SQLITE_ONLY
@pytest.mark.parametrize("case", sorted(QUIET_BOMBS) + ["zlib_bomb_8000x8000"])
def test_image_bombs_are_rejected_without_decoding(medflow, store, case):
    content = zlib_bomb_png() if case.startswith("zlib") else QUIET_BOMBS[case]
    _assert_rejected(*_save(medflow, store, content, "scan.png"))


def _judge_names(medflow, store, names: list[str]) -> None:
    for name in names:
        status, problems = _save(medflow, store, pdf_bytes(), name)
        if name == "CON.pdf":  # an ordinary name on this system
            assert status == READY, problems
        else:
            assert status == REJECTED, (name, problems)
            _assert_rejected(status, problems)


def test_names_never_leave_the_store_and_bad_ones_are_rejected(medflow, store):
    _judge_names(medflow, store, TRAVERSAL_NAMES)


def test_document_ids_from_outside_cannot_address_other_files(store):
    for hostile in ["../../etc/passwd", "/etc/passwd", "0" * 31 + "/", "a" * 32 + "/../x", "%2e%2e", ""]:
        with pytest.raises(ValueError):
            store.read(hostile)


def test_fuzzed_uploads_are_stored_inside_and_judged(medflow, store):
    @settings(FUZZ, max_examples=500 if medflow.db.is_sqlite else 200)
    @given(content=st.one_of(st.binary(max_size=4096), st.sampled_from([c for c, _ in LYING_CONTENTS.values()])),
           name=st.one_of(st.text(max_size=120), st.sampled_from(TRAVERSAL_NAMES)))
    def run(content: bytes, name: str) -> None:
        status, problems = _save(medflow, store, content, name)
        assert status in (READY, REJECTED)
        if status == REJECTED:
            _assert_rejected(status, problems)

    run()
