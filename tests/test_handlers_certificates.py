"""Issued documents: number, validity, PDF with a QR code of the verification URL, ЕГИСЗ, /verify;
and the payment step of the printed copy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp

from engine.handler_registry import BpmnError
from handlers.certificates import (
    CertificateContent,
    add_months,
    issue_certificate,
    mask_name,
    qr_matrix,
    render_pdf,
    verify_certificate,
)
from handlers.demo_registry_data import demo_applicant
from handlers.documents import store_for
from handlers.payments import check_payment, confirm_local_payment, create_payment
from handlers.registry_models import EgiszMedbook
from handlers.service_models import IssuedCertificate, StoredDocument
from handlers.services import environment, session_for
from tests.medflow_harness import another_call, handler_call, make_medflow


@pytest.fixture()
def mf(tmp_path):
    return make_medflow(tmp_path, **{"web.public_url": "https://medflow.example.ru/"})


def test_add_months_keeps_the_day_or_the_month_end() -> None:
    assert add_months(date(2026, 4, 23), 12) == date(2027, 4, 23)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)


def url_in_pdf(pdf: bytes) -> str:
    """What a phone reads off the certificate's QR code."""
    image = pdfium.PdfDocument(pdf)[0].render(scale=2).to_pil()
    (code,) = zxingcpp.read_barcodes(image)
    assert code.format.name == "QRCode"
    return code.text


def test_qr_code_in_the_pdf_reads_back_as_the_verification_url() -> None:
    """Rendered to pixels as a viewer would and read by a real QR decoder (ZXing)."""
    url = "https://medflow.example.ru/verify/%D0%AD%D0%9C%D0%9A-2026-000001"
    content = CertificateContent("Электронная медицинская книжка", "ЭМК-2026-000001", "Иванова М. П.",
                                 [("Действительна до", "22.04.2027")], url)
    assert url_in_pdf(render_pdf(content)) == url


def test_qr_matrix_is_the_one_qrcode_fits_itself() -> None:
    """qr_matrix remembers the QR version per data shape instead of letting qrcode search for it;
    across version boundaries, asked twice (the second time from memory), it is still the code
    qrcode's own make(fit=True) gives."""
    for length in range(1, 140, 3):
        for number in ("ЭМК-2026-000001", "X" * length, "7" * length):
            text = f"https://medflow.example.ru/verify/{number}"
            reference = qrcode.QRCode(border=0, mask_pattern=0)
            reference.add_data(text)
            reference.make(fit=True)
            assert qr_matrix(text) == qr_matrix(text) == reference.get_matrix(), text


def test_certificates_rendered_in_parallel_threads_each_show_their_own_data() -> None:
    """The web server renders from several threads at once: the shared font and QR version memory
    must not let one certificate's text or code leak into another."""
    names = ["Иванова Мария Петровна", "Ёлкин Фёдор", "Щербакова Зульфия Игоревна", "Хабибуллин Юрий"]
    contents = [
        CertificateContent("Электронная личная медицинская книжка", f"ЭМК-2026-{i:06d}", f"{names[i % 4]} {i}",
                           [("Действует по", "22.04.2027")],
                           f"https://medflow.example.ru/verify/{i}-{'7' * (i % 30)}")
        for i in range(12)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(render_pdf, contents))
    for content, pdf in zip(contents, pdfs, strict=True):
        assert url_in_pdf(pdf) == content.verify_url  # pdfium is not thread-safe: read back here
        text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
        assert f"Владелец: {content.holder_name}" in text and content.number in text


def test_pdf_text_is_the_certificate_in_russian() -> None:
    """The embedded font carries Cyrillic and maps back to Unicode: a viewer's copy/search gets the
    real words, not glyph codes."""
    url = "https://medflow.example.ru/verify/%D0%A1%D0%90-2026-000042"
    content = CertificateContent("Свидетельство об аккредитации специалиста", "СА-2026-000042",
                                 "Щербакова Ёлка Юрьевна", [("Действует по", "22.04.2031"),
                                                            ("Специальность", "Хирургия (Sono-2)")], url)
    text = pdfium.PdfDocument(render_pdf(content))[0].get_textpage().get_text_range().replace("\r\n", "\n")
    assert text.splitlines() == [
        "Свидетельство об аккредитации специалиста", "№ СА-2026-000042", "Владелец: Щербакова Ёлка Юрьевна",
        "Действует по: 22.04.2031", "Специальность: Хирургия (Sono-2)",
        "Проверить подлинность: отсканируйте QR-код или откройте", url,
    ]


def test_issue_medbook(mf) -> None:
    holder = demo_applicant(0)
    with handler_call(mf) as ctx:
        result = issue_certificate("medbook", holder, ctx=ctx, details={"Категория работ": "Пищевая промышленность"})
        again = issue_certificate("medbook", holder, ctx=ctx)  # retried step: same certificate
        store = store_for(environment(ctx))
    assert again == result
    assert result["number"] == "ЭМК-2026-000001"
    assert (result["valid_from"], result["valid_until"]) == ("2026-04-23", "2027-04-22")
    assert result["verify_url"] == "https://medflow.example.ru/verify/%D0%AD%D0%9C%D0%9A-2026-000001"
    assert result["available_by"].startswith("2026-04-24T09:00")
    pdf = store.read(result["document_id"])
    assert pdf.startswith(b"%PDF-") and url_in_pdf(pdf) == result["verify_url"]
    with mf.db.read() as session:
        document = session.get(StoredDocument, result["document_id"])
        egisz = session.get(EgiszMedbook, result["number"])
    assert (document.detected_type, document.problems) == ("pdf", [])
    assert (egisz.snils, egisz.category, egisz.valid_until) == (holder["snils"], "Пищевая промышленность",
                                                                date(2027, 4, 22))


def test_verify_page_data(mf) -> None:
    with handler_call(mf) as ctx:
        number = issue_certificate("accreditation", demo_applicant(1), ctx=ctx)["number"]
    assert number == "СА-2026-000001"
    shown = verify_certificate(mf.db, number)
    assert shown["holder"] == "Петров А. С." and shown["status"] == "valid"
    assert shown["valid_until"] == "2031-04-22"
    assert verify_certificate(mf.db, number, today=date(2031, 4, 23))["status_text"] == "Срок действия истёк"
    assert verify_certificate(mf.db, "НЕТ-ТАКОГО") is None
    assert mask_name("") == ""


def test_payment_for_printed_copy(mf) -> None:
    with handler_call(mf) as ctx:
        order = create_payment("A5", ctx=ctx)
        assert order["amount"] == 350 and order["pay_url"].endswith(order["order_id"])
        assert check_payment(order["order_id"], ctx=another_call(ctx, "t2")) == {"paid": False, "status": "created"}
        with pytest.raises(BpmnError) as caught:
            create_payment("A0", ctx=another_call(ctx, "t3"))
    assert caught.value.code == "unknown_price"
    mf.clock.advance(timedelta(minutes=5))
    with mf.db.write() as session:
        confirm_local_payment(session, order["order_id"])
    with handler_call(mf) as ctx:
        assert check_payment(order["order_id"], ctx=ctx)["paid"] is True


def test_certificate_info_and_renewal(mf) -> None:
    from handlers.registries import register_application
    from handlers.renewals import certificate_info, renew_certificate

    with handler_call(mf) as ctx:
        register_application(demo_applicant(0), ctx=ctx, contact={"email": "ivanova@example.ru"})
        number = issue_certificate("medbook", demo_applicant(0), ctx=another_call(ctx, "t-issue"))["number"]
    with handler_call(mf, business_key="ПР-2026-000001", instance_id=2) as ctx:
        info = certificate_info(number, ctx=ctx)
        assert info["contact"] == {"email": "ivanova@example.ru", "phone": None}
        assert info["holder"]["last_name"] == "Иванова" and info["valid_until"] == "2027-04-22"
        assert info["remind_at"] == "2027-03-23T06:00:00+00:00"  # 30 days before, 09:00 Moscow
        assert info["expires_at"] == "2027-04-22T21:00:00+00:00"  # the end of the last valid day
        session_for(ctx).get(IssuedCertificate, number).renewal_watcher = "ПР-2026-000001"
        renewed = renew_certificate(number, ctx=ctx)
        again = renew_certificate(number, ctx=ctx)  # retried: extends once
        with pytest.raises(BpmnError):
            certificate_info("НЕТ", ctx=ctx)
    assert renewed["valid_until"] == again["valid_until"] == "2028-04-22"
    with mf.db.read() as session:
        assert session.get(EgiszMedbook, number).valid_until == date(2028, 4, 22)
        # The next period needs its own reminder: the scheduler sees the document unwatched again.
        assert session.get(IssuedCertificate, number).renewal_watcher is None
    assert verify_certificate(mf.db, number)["valid_until"] == "2028-04-22"
