"""The issue's story in a real browser, as people would do it: an applicant, an operator, an
analyst and a supervisor, each in their own browser context. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import logged_in_page
from tests.medflow_harness import sample_file

pytestmark = pytest.mark.browser

BAD_SNILS = "11223344594"


def _files(tmp: Path) -> dict[str, Path]:
    paths = {"passport": tmp / "passport.pdf", "oms": tmp / "oms_scan.jpg", "oms2": tmp / "oms_scan_new.png"}
    paths["passport"].write_bytes(sample_file("pdf"))
    paths["oms"].write_bytes(sample_file("jpeg"))
    paths["oms2"].write_bytes(sample_file("png"))
    return paths


def _fill_medbook(page, files: dict[str, Path], snils: str) -> None:  # type: ignore[no-untyped-def]
    from handlers.demo_registry_data import demo_applicant

    person = demo_applicant(0)
    for name in ("last_name", "first_name", "middle_name", "birth_date", "oms", "passport",
                 "passport_issued_on", "passport_unit_code"):
        page.fill(f"#f-applicant-{name}", person[name])
    page.fill("#f-applicant-snils", snils)
    page.fill("#f-applicant-passport_issued_by", person["passport_issued_by"])
    page.fill("#f-applicant-phone", "+7 916 123-45-67")
    page.fill("#f-applicant-email", "ivanova@example.ru")
    page.check("input[name='applicant.gender'][value='Ж']")
    page.check("input[name='medbook.type'][value='regular']")
    page.select_option("#f-medbook-work_category", "medical")
    page.set_input_files("#f-documents-passport_scan", str(files["passport"]))
    page.set_input_files("#f-documents-oms_scan", str(files["oms"]))
    page.check("#f-consent_personal_data")


def _operator_decides(browser, base: str, key: str, decide, shot: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    page = logged_in_page(browser, base, "operator1", downloads=True)
    page.goto(f"{base}/worklist/?q={key}")
    if shot is not None:
        page.screenshot(path=str(shot.with_name("03-worklist.png")), full_page=True)
    page.click(f"text={key}")
    page.click("#claim")
    page.wait_for_selector("text=взята в работу")
    decide(page)
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)
    page.click("text=Сохранить решение")
    page.wait_for_selector("text=Задача выполнена")
    assert not page.errors  # type: ignore[attr-defined]
    page.context.close()


def _deployed_xml(web, key: str) -> str:  # type: ignore[no-untyped-def]
    from engine.models import Bundle

    with web.medflow.db.read() as session:
        definition = web.medflow.definitions.latest(session, key)
        files = session.get(Bundle, definition.bundle_hash).files
    return str(files[f"{key}.bpmn"])


def test_the_whole_story(live, browser, screenshots, tmp_path) -> None:
    web, base = live
    files = _files(tmp_path)

    # An applicant: catalogue → form → invalid СНИЛС → message → fix → number.
    applicant = logged_in_page(browser, base, "ivanova", downloads=True)
    applicant.goto(base + "/")
    applicant.screenshot(path=str(screenshots / "00-catalogue.png"), full_page=True)
    applicant.click("text=Оформление электронной медицинской книжки")
    applicant.click("#start-application")
    key = applicant.inner_text("#application-number")
    assert re.fullmatch(r"МК-2026-\d{6}", key)
    _fill_medbook(applicant, files, BAD_SNILS)
    applicant.click("button:has-text('Отправить заявление')")
    error = applicant.locator("#f-applicant-snils-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Неверная контрольная сумма СНИЛС"
    applicant.screenshot(path=str(screenshots / "01-form-invalid-snils.png"), full_page=True)
    from handlers.demo_registry_data import demo_applicant

    applicant.fill("#f-applicant-snils", demo_applicant(0)["snils"])
    applicant.click("button:has-text('Отправить заявление')")
    applicant.wait_for_selector("#portal-status")
    assert f"Заявление № {key} отправлено" in applicant.content()
    assert applicant.inner_text("#portal-status") == "Заявление принято к рассмотрению"
    applicant.screenshot(path=str(screenshots / "02-application-submitted.png"), full_page=True)

    # An operator claims and asks for a correction.
    def correction(page) -> None:  # type: ignore[no-untyped-def]
        page.check("input[name='decision'][value='request_correction']")
        page.check("input[name='items'][value='documents.oms_scan']")
        page.fill("#f-reason", "Скан полиса ОМС нечитаем")

    _operator_decides(browser, base, key, correction, screenshots / "04-task.png")

    # The applicant sees what to fix and until when, and resubmits.
    applicant.goto(f"{base}/applications/{key}")
    assert applicant.inner_text("#portal-status") == "Заявление требует исправления"
    assert "Скан полиса ОМС нечитаем" in applicant.inner_text("#refusal")
    assert "Исправить до" in applicant.inner_text("#deadline")
    applicant.screenshot(path=str(screenshots / "05-correction-requested.png"), full_page=True)
    applicant.click("#resubmit-link")
    assert applicant.input_value("#f-applicant-last_name") == "Иванова"
    applicant.set_input_files("#f-documents-oms_scan", str(files["oms2"]))
    applicant.click("button:has-text('Отправить исправления')")
    applicant.wait_for_selector("text=Исправления отправлены")

    # The operator approves; the applicant downloads the PDF.
    _operator_decides(browser, base, key, lambda page: page.check("input[name='decision'][value='approve']"))
    applicant.goto(f"{base}/applications/{key}")
    assert applicant.inner_text("#portal-status") == "Услуга оказана"
    with applicant.expect_download() as download_info:
        applicant.click("#download-result")
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    applicant.screenshot(path=str(screenshots / "06-result.png"), full_page=True)
    assert not applicant.errors  # type: ignore[attr-defined]

    # An analyst changes a timer, lints and deploys a new version.
    analyst = logged_in_page(browser, base, "analyst", downloads=True)
    analyst.goto(f"{base}/modeler/")
    analyst.screenshot(path=str(screenshots / "07-processes.png"), full_page=True)
    analyst.goto(f"{base}/modeler/processes/medbook_issuance")
    analyst.wait_for_selector("#canvas[data-rendered='1']")
    analyst.click("[data-element-id='remind']", force=True)
    analyst.wait_for_selector("#prop-timer")
    assert analyst.input_value("#prop-timer") == "working_days(reminder_days)"
    analyst.fill("#prop-timer", "working_days(reminder_days + 1)")
    analyst.press("#prop-timer", "Tab")
    # ... and a service task's parameter: one field per parameter its handler takes.
    analyst.click("[data-element-id='register']", force=True)
    analyst.wait_for_selector("#prop-param-contact")
    assert analyst.input_value("#prop-param-applicant") == "applicant"
    assert analyst.get_attribute("#prop-param-applicant", "required") is not None  # the handler requires it
    analyst.fill("#prop-param-contact", "applicant")
    analyst.press("#prop-param-contact", "Tab")
    # A task without properties yet, selected through bpmn-js: a click on it lands on the context
    # pad of the task selected before, which lies over it.
    analyst.evaluate("id => { const m = window.medflowModeler;"
                     " m.get('selection').select(m.get('elementRegistry').get(id)); }", "check_ids")
    analyst.wait_for_selector("#prop-status")
    analyst.fill("#prop-status", "Проверяем реквизиты")
    analyst.press("#prop-status", "Tab")
    analyst.click("#lint-button")
    analyst.wait_for_selector("#canvas[data-lint='0']")
    analyst.click("#deploy-button")
    analyst.wait_for_selector("#canvas[data-deployed='created']")
    assert "medbook_issuance v2" in analyst.inner_text("#diagram-status")
    deployed = _deployed_xml(web, "medbook_issuance")
    assert "working_days(reminder_days + 1)" in deployed
    assert '<spiffworkflow:parameter id="contact" type="any" value="applicant"' in deployed
    assert '<spiffworkflow:property name="portalStatus" value="Проверяем реквизиты"' in deployed
    analyst.screenshot(path=str(screenshots / "08-modeler.png"), full_page=True)
    assert not analyst.errors  # type: ignore[attr-defined]

    # The supervisor sees a running instance highlighted, and the dashboard.
    client = web.login("sidorova")
    from tests.test_web_portal import start, submit
    from tests.web_harness import medbook_post

    running = start(client)
    assert submit(client, running, medbook_post(3)).status_code == 302
    supervisor = logged_in_page(browser, base, "supervisor", downloads=True)
    supervisor.goto(f"{base}/monitor/instances/{running}")
    supervisor.wait_for_selector("#canvas[data-rendered='1']")
    assert int(supervisor.get_attribute("#canvas", "data-active-shown") or 0) >= 1
    assert supervisor.locator(".highlight-active").count() >= 1
    assert supervisor.locator(".highlight-done").count() >= 3
    supervisor.screenshot(path=str(screenshots / "09-monitor-instance.png"), full_page=True)
    supervisor.goto(f"{base}/monitor/dashboard")
    supervisor.screenshot(path=str(screenshots / "10-sla-dashboard.png"), full_page=True)
    assert not supervisor.errors  # type: ignore[attr-defined]


def test_each_miwg_reference_model_renders_in_the_modeler(live, browser) -> None:
    web, base = live
    from webui.modeler import reference_files

    with web.app.app_context():
        names = reference_files()
    page = logged_in_page(browser, base, "analyst", downloads=True)
    for name in names:
        page.goto(f"{base}/modeler/reference/{name}")
        page.wait_for_selector("#canvas[data-rendered]:not([data-rendered=''])")
        assert page.get_attribute("#canvas", "data-rendered") == "1", name
        assert int(page.get_attribute("#canvas", "data-elements") or 0) > 1, name
    assert not page.errors  # type: ignore[attr-defined]
