"""Documents: type by content (not by name), sizes, dpi, names, the store, the package check."""

from __future__ import annotations

import pytest

from handlers.documents import (
    CHECKING,
    CONFIRMED,
    READY,
    REJECTED,
    DocumentLimits,
    DocumentStore,
    check_documents,
    check_facts,
    confirm_documents,
    inspect,
    store_for,
)
from handlers.service_models import StoredDocument
from handlers.services import SERVICES_KEY
from tests.medflow_harness import handler_call, image_bytes, make_medflow, pdf_bytes

LIMITS = DocumentLimits()


def problems(content: bytes, name: str, limits: DocumentLimits = LIMITS) -> list[str]:
    return check_facts(inspect(content), name, limits)


def test_good_files_pass() -> None:
    assert problems(pdf_bytes(), "passport.pdf") == []
    assert problems(image_bytes("JPEG", 300), "passport_scan.jpg") == []
    assert problems(image_bytes("JPEG", 600), "скан-паспорта.jpeg") == []
    assert problems(image_bytes("PNG", 1200), "oms.png") == []


def test_type_is_decided_by_content_not_name() -> None:
    jpeg_named_pdf = problems(image_bytes("JPEG"), "passport.pdf")
    assert jpeg_named_pdf == ["Расширение .pdf не соответствует содержимому: по содержимому это JPG"]
    text_named_pdf = problems(b"just some text, not a PDF at all", "passport.pdf")
    assert text_named_pdf == ["Недопустимый тип файла (тип не распознан); допускаются PDF, JPG, PNG"]
    gif = b"GIF89a" + b"\x00" * 40
    assert "это GIF" in problems(gif, "scan.gif")[0]


def test_size_limits_come_from_settings() -> None:
    big = pdf_bytes(pad_to=6 * 1024 * 1024)
    assert problems(big, "big.pdf") == ["Файл больше 5 МБ (6.0 МБ)"]
    assert problems(big, "big.pdf", DocumentLimits(max_file_mb=10)) == []
    assert problems(b"", "empty.pdf")[-1] == "Файл пустой"


@pytest.mark.parametrize("dpi", [72, 150, 2400])
def test_scan_resolution_outside_range(dpi: int) -> None:
    assert problems(image_bytes("JPEG", dpi), "scan.jpg") == [
        f"Разрешение {dpi}×{dpi} dpi; нужен скан 300–1200 dpi"]


def test_image_without_resolution_and_broken_image() -> None:
    assert "не указано разрешение" in problems(image_bytes("PNG", None), "scan.png")[0]
    broken = image_bytes("PNG")[:60]
    assert problems(broken, "scan.png") == ["Изображение не читается: файл повреждён"]


@pytest.mark.parametrize("name", ["my passport.pdf", "паспорт(1).pdf", "scan#1.pdf", "скан!.pdf", ".pdf", "passport"])
def test_unreadable_names_are_rejected(name: str) -> None:
    assert problems(pdf_bytes(), name), name


@pytest.fixture()
def mf(tmp_path):
    return make_medflow(tmp_path, **{"documents.max_total_mb": 1})


def test_store_keeps_bytes_under_generated_id(mf, tmp_path) -> None:
    store = store_for(mf.store.services[SERVICES_KEY])
    with mf.db.write() as session:
        row = store.save(session, pdf_bytes(), "../../etc/passwd.pdf", uploaded_by="ivanov")
    assert row.status == REJECTED and row.original_name == "../../etc/passwd.pdf"
    files = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [row.id]
    assert store.read(row.id) == pdf_bytes()
    with pytest.raises(ValueError):
        store.read("../../etc/passwd")


def _upload(mf, content: bytes, name: str) -> str:
    store = DocumentStore(mf.settings.path("paths.documents"), DocumentLimits.from_settings(mf.settings))
    with mf.db.write() as session:
        return store.save(session, content, name, uploaded_by="ivanov").id


def test_package_check_names_each_document(mf) -> None:
    good = _upload(mf, pdf_bytes(), "passport.pdf")
    fake = _upload(mf, b"hello", "oms.pdf")
    with mf.db.read() as session:
        assert session.get(StoredDocument, good).status == READY
    with handler_call(mf) as ctx:
        result = check_documents({"passport_scan": good, "oms_scan": fake}, ctx=ctx,
                                 required=["passport_scan", "oms_scan", "health_certificate"])
    assert result["ok"] is False
    assert result["errors"]["documents.oms_scan"].startswith("oms.pdf: Недопустимый тип файла")
    assert result["errors"]["documents.health_certificate"] == "Не приложен документ: справка о состоянии здоровья"
    assert "documents.passport_scan" not in result["errors"]
    with mf.db.read() as session:
        assert session.get(StoredDocument, good).status == CHECKING


def test_unknown_id_and_total_size(mf) -> None:
    parts = [_upload(mf, pdf_bytes(pad_to=600 * 1024), f"part{i}.pdf") for i in range(2)]
    with handler_call(mf) as ctx:
        result = check_documents({"a": parts[0], "b": parts[1], "c": "f" * 32}, ctx=ctx)
    assert result["errors"]["documents"].startswith("Общий объём документов 1.2 МБ больше 1 МБ")
    assert "не найден" in result["errors"]["documents.c"]


def test_confirm_documents(mf) -> None:
    good = _upload(mf, pdf_bytes(), "passport.pdf")
    with handler_call(mf) as ctx:
        assert confirm_documents({"passport_scan": good}, ctx=ctx) == {"confirmed": 1}
    with mf.db.read() as session:
        assert session.get(StoredDocument, good).status == CONFIRMED
