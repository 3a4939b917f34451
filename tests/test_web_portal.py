"""The applicant portal through the Flask test client: catalogue, generated form with server-side
messages, uploads, «Мои заявления», resubmission, the PDF, and other people's applications."""

from __future__ import annotations

import re

import pytest

from tests.web_harness import files, make_web, medbook_post

BAD_SNILS = "11223344594"


@pytest.fixture()
def web(tmp_path):
    return make_web(tmp_path)


def start(client, process: str = "medbook_issuance") -> str:
    response = client.post_form(f"/services/{process}/start")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    key = re.search(r"/applications/([^/]+)/form", response.headers["Location"]).group(1)
    from urllib.parse import unquote

    return unquote(key)


def submit(client, key: str, data: dict, uploads: dict | None = None):
    body = dict(data)
    body.update(uploads if uploads is not None else files(documents__passport_scan="passport.pdf",
                                                          documents__oms_scan="oms_scan.jpg"))
    return client.post_form(f"/applications/{key}/form", body, content_type="multipart/form-data")


def test_catalogue_lists_deployed_services_for_everybody(web) -> None:
    page = web.client().get("/").get_data(as_text=True)
    assert "Оформление электронной медицинской книжки" in page and "Аккредитация специалиста" in page
    assert "Отказ и повторная подача" not in page  # the internal sub-procedure is not a service
    service = web.client().get("/services/medbook_issuance").get_data(as_text=True)
    assert "до 5 МБ каждый" in service and "Войти" in service
    assert web.client().get("/services/nope").status_code == 404


def test_generated_form_shows_fields_help_and_rules(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    assert key == "МК-2026-000001"
    page = client.get(f"/applications/{key}/form").get_data(as_text=True)
    assert 'name="applicant.snils"' in page and 'data-format="snils"' in page
    assert "11 цифр без пробелов и дефисов" in page  # ui:help
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    assert "data-show-when" in page and '"checksum": "snils"' in page  # rules for forms.js
    assert "js/forms.js" in page
    assert start(client) == key  # a second click continues the draft


def test_invalid_snils_is_reported_next_to_the_field_then_fixed(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    response = submit(client, key, medbook_post(0, **{"applicant.snils": BAD_SNILS}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'id="f-applicant-snils-error"\s*>([^<]*)<', page)
    assert error and error.group(1) == "Неверная контрольная сумма СНИЛС"
    assert f'value="{BAD_SNILS}"' in page  # what was typed stays
    assert "Загружен: <a" in page  # uploaded files are kept for the next try
    ids = dict(re.findall(r'name="(documents\.\w+)__id" value="([0-9a-f]{32})"', page))
    fixed = medbook_post(0)
    fixed.update({f"{k}__id": v for k, v in ids.items()})
    done = submit(client, key, fixed, uploads={})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    detail = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Заявление № {key} отправлено" in detail
    assert "Заявление принято к рассмотрению" in detail
    assert "Срок рассмотрения" in detail and "08.05.2026" in detail  # 10 working days, May holidays
    assert "Заявление отправлено" in detail  # timeline
    assert "Неверная контрольная сумма" not in detail


def test_upload_problems_are_shown_at_the_file_field(web) -> None:
    import io

    client = web.login("ivanova")
    key = start(client)
    uploads = {"documents.passport_scan": (io.BytesIO(b"just text"), "passport.pdf"),
               "documents.oms_scan": (io.BytesIO(b"x"), "my scan.jpg")}
    page = submit(client, key, medbook_post(0), uploads).get_data(as_text=True)
    assert "Недопустимый тип файла" in page
    assert re.search(r'id="f-documents-oms_scan-error"\s*>my scan\.jpg: [^<]*без пробелов', page)


def test_required_and_conditional_fields(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    data = medbook_post(0, **{"medbook.work_category": "catering_trade"})
    del data["consent_personal_data"]
    page = submit(client, key, data).get_data(as_text=True)
    assert re.search(r'id="f-documents-health_certificate-error"\s*>[^<]+', page)
    assert re.search(r'id="f-consent_personal_data-error"\s*>[^<]+', page)


def _approve_flow(web, client, key):
    operator = web.medflow.queries.tasks(business_key=key)[0]
    web.medflow.runtime.claim(operator["id"], "operator1")
    return operator


def test_correction_resubmission_and_pdf(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    assert submit(client, key, medbook_post(0)).status_code == 302
    review = _approve_flow(web, client, key)
    web.medflow.runtime.complete(review["id"], {"decision": "request_correction", "items": ["documents.oms_scan"],
                                                "reason": "Скан полиса нечитаем"}, user="operator1")
    page = client.get(f"/applications/{key}").get_data(as_text=True)
    assert "Заявление требует исправления" in page and "Скан полиса нечитаем" in page
    assert "Исправить до 30.04.2026 включительно" in page
    assert "Скан полиса ОМС" in page and 'id="resubmit-link"' in page
    form = client.get(f"/applications/{key}/resubmit").get_data(as_text=True)
    assert 'value="Иванова"' in form  # pre-filled with what was sent
    ids = dict(re.findall(r'name="(documents\.\w+)__id" value="([0-9a-f]{32})"', form))
    unchanged = medbook_post(0)
    unchanged.update({f"{k}__id": v for k, v in ids.items()})
    same = client.post_form(f"/applications/{key}/resubmit", unchanged, content_type="multipart/form-data")
    assert same.status_code == 422 and "Вы ничего не изменили" in same.get_data(as_text=True)
    corrected = dict(unchanged)
    del corrected["documents.oms_scan__id"]
    corrected.update(files(documents__oms_scan="oms_new.png"))
    sent = client.post_form(f"/applications/{key}/resubmit", corrected, content_type="multipart/form-data")
    assert sent.status_code == 302, sent.get_data(as_text=True)[:1000]
    assert "Исправления отправлены" in client.get(f"/applications/{key}").get_data(as_text=True)
    data = web.medflow.queries.instance(key)["data"]
    assert data["documents"]["oms_scan"] != ids["documents.oms_scan"]
    assert data["documents"]["passport_scan"] == ids["documents.passport_scan"]
    review = _approve_flow(web, client, key)
    web.medflow.runtime.complete(review["id"], {"decision": "approve"}, user="operator1")
    page = client.get(f"/applications/{key}").get_data(as_text=True)
    assert "Услуга оказана" in page and "Скачать PDF" in page
    link = re.search(r'id="download-result" href="([^"]+)"', page).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    number = web.medflow.queries.instance(key)["data"]["medbook_issued"]["number"]
    verify = web.client().get(f"/verify/{number}").get_data(as_text=True)
    assert "Действителен" in verify and "Иванова М. П." in verify
    assert web.client().get("/verify/ЭМК-0000").status_code == 404


def test_other_peoples_applications_are_invisible(web) -> None:
    owner = web.login("ivanova")
    key = start(owner)
    submit(owner, key, medbook_post(0))
    doc_id = web.medflow.queries.instance(key)["data"]["documents"]["passport_scan"]
    other = web.login("petrov")
    for path in (f"/applications/{key}", f"/applications/{key}/form", f"/applications/{key}/resubmit",
                 f"/documents/{doc_id}", f"/applications/{key}/result/X.pdf"):
        assert other.get(path).status_code == 404, path
    assert other.post_form(f"/applications/{key}/message", {"message": "resubmission"}).status_code == 404
    assert key not in other.get("/applications").get_data(as_text=True)
    assert owner.get(f"/documents/{doc_id}").status_code == 200
    assert web.client().get(f"/documents/{doc_id}").status_code == 404
    operator = web.login("operator1")
    assert operator.get(f"/applications/{key}").status_code == 403
    assert operator.get(f"/documents/{doc_id}").status_code == 200  # staff check documents
    assert owner.get("/applications/МК-2026-999999").status_code == 404


def test_my_applications_lists_own_with_status(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    page = client.get("/applications").get_data(as_text=True)
    assert key in page and "Черновик заявления" in page
    detail = client.get(f"/applications/{key}").get_data(as_text=True)
    assert "Продолжить заполнение" in detail


def test_document_is_served_by_content_type_not_name(web) -> None:
    client = web.login("ivanova")
    key = start(client)
    submit(client, key, medbook_post(0))
    doc_id = web.medflow.queries.instance(key)["data"]["documents"]["oms_scan"]
    response = client.get(f"/documents/{doc_id}")
    assert response.mimetype == "image/jpeg" and "inline" in response.headers["Content-Disposition"]
    assert "attachment" in client.get(f"/documents/{doc_id}?download=1").headers["Content-Disposition"]
