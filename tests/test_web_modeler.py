"""The analyst's modeler through the test client: process list, files, lint, deploy, download,
upload, MIWG reference models, forms editor."""

from __future__ import annotations

import io
import json

import pytest

from tests.medflow_harness import PROJECT
from tests.web_harness import make_web
from webui.modeler import reference_files


@pytest.fixture()
def web(tmp_path):
    return make_web(tmp_path)


def _json_post(client, path, body, csrf=True):
    headers = {"X-CSRFToken": client.csrf} if csrf else {}
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def test_process_list_shows_versions_and_running_counts(web) -> None:
    web.medflow.runtime.start("medbook_issuance", {}, actor="ivanova")
    page = web.login("analyst").get("/modeler/").get_data(as_text=True)
    assert "Оформление электронной медицинской книжки" in page and "v1 (1)" in page
    assert "A.1.0.bpmn" in page  # the MIWG reference models are listed


def test_files_json_offers_handlers_forms_and_groups(web) -> None:
    data = web.login("analyst").get("/modeler/processes/medbook_issuance/files.json").json
    assert data["files"][0]["name"] == "medbook_issuance.bpmn"
    assert {"check_documents", "issue_certificate"} <= {h["name"] for h in data["handlers"]}
    assert "medbook_review.schema.json" in data["forms"] and "medbook_operators" in data["groups"]
    page = web.login("analyst").get("/modeler/processes/medbook_issuance").get_data(as_text=True)
    assert "bpmn-modeler.production.min.js" in page and "spiffworkflow-moddle.js" in page


def test_lint_and_deploy_the_edited_diagram(web) -> None:
    client = web.login("analyst")
    xml = (PROJECT / "processes" / "medbook_issuance.bpmn").read_text(encoding="utf-8")
    body = {"process_key": "medbook_issuance", "name": "medbook_issuance.bpmn"}
    assert _json_post(client, "/modeler/lint", {**body, "xml": xml}, csrf=False).status_code == 400
    broken = xml.replace("working_days(reminder_days)", "P3D")
    problems = _json_post(client, "/modeler/lint", {**body, "xml": broken}).json["problems"]
    assert [p["element_id"] for p in problems] == ["remind"]
    refused = _json_post(client, "/modeler/deploy", {**body, "xml": broken})
    assert refused.status_code == 422
    changed = xml.replace("working_days(reminder_days)", "working_days(reminder_days + 1)")
    assert _json_post(client, "/modeler/lint", {**body, "xml": changed}).json["problems"] == []
    deployed = _json_post(client, "/modeler/deploy", {**body, "xml": changed}).json["deployed"]
    assert {"process_key": "medbook_issuance", "version": 2} in [
        {"process_key": d["process_key"], "version": d["version"]} for d in deployed]
    download = client.get("/modeler/processes/medbook_issuance/download")
    assert "working_days(reminder_days + 1)" in download.get_data(as_text=True)
    assert "attachment" in download.headers["Content-Disposition"]
    old = client.get("/modeler/processes/medbook_issuance/download?version=1").get_data(as_text=True)
    assert "working_days(reminder_days + 1)" not in old
    bad_name = _json_post(client, "/modeler/lint", {**body, "name": "../x.bpmn", "xml": xml})
    assert bad_name.status_code == 422


def test_upload_deploys_or_lists_problems(web) -> None:
    client = web.login("analyst")
    xml = (PROJECT / "processes" / "refusal_and_resubmit.bpmn").read_bytes()
    changed = xml.replace(b"working_days(fix_days)", b"working_days(fix_days + 2)")
    page = client.post_form("/modeler/upload", {"process_key": "refusal_and_resubmit",
                                                "file": (io.BytesIO(changed), "refusal_and_resubmit.bpmn")},
                            content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "Развёрнуто: refusal_and_resubmit v2" in page
    broken = xml.replace(b"working_days(fix_days)", b"P5D")
    page = client.post_form("/modeler/upload", {"process_key": "refusal_and_resubmit",
                                                "file": (io.BytesIO(broken), "refusal_and_resubmit.bpmn")},
                            content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "deadline" in page and "в кавычках" in page


def test_every_miwg_reference_model_opens_and_lints_without_a_crash(web) -> None:
    with web.app.app_context():
        names = reference_files()
    assert len(names) >= 20
    client = web.login("analyst")
    for name in names:
        assert client.get(f"/modeler/reference/{name}").status_code == 200
        data = client.get(f"/modeler/reference/{name}/file.json").json
        assert data["files"][0]["xml"].lstrip().startswith("<?xml") or "<" in data["files"][0]["xml"][:200]
        lint = _json_post(client, "/modeler/lint", {"process_key": "", "name": name, "xml": data["files"][0]["xml"]})
        assert lint.status_code == 200, name
        assert all("Внутренняя ошибка" not in p["message"] for p in lint.json["problems"]), name
    assert client.get("/modeler/reference/..%2Fsecret.bpmn").status_code == 404


def test_forms_editor_preview_and_save(web, tmp_path) -> None:
    web.medflow.settings.raw.setdefault("paths", {})["forms"] = str(tmp_path / "forms")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "probe.schema.json").write_text(json.dumps({
        "type": "object", "required": ["snils"], "properties": {"snils": {"type": "string", "title": "СНИЛС", "format": "snils"}}}, ensure_ascii=False))
    client = web.login("analyst")
    assert "probe.schema.json" in client.get("/modeler/forms").get_data(as_text=True)
    page = client.get("/modeler/forms/probe.schema.json").get_data(as_text=True)
    assert "СНИЛС" in page
    schema = '{"type": "object", "properties": {"snils": {"type": "string", "title": "СНИЛС", "format": "snils"}}}'
    preview = _json_post(client, "/modeler/forms/preview", {"schema": schema, "ui_schema": "",
                                                             "values": {"snils": "11223344594"}}).json
    assert 'name="snils"' in preview["html"] and preview["errors"][0]["message"] == "Неверная контрольная сумма СНИЛС"
    typo = _json_post(client, "/modeler/forms/preview", {"schema": schema.replace('"snils"}', '"snils2"}'),
                                                          "ui_schema": "{"}).json
    assert any("snils2" in p for p in typo["problems"]) and any("UI-схема" in p for p in typo["problems"])
    saved = client.post_form("/modeler/forms/probe.schema.json", {"schema": schema, "ui_schema": '{"ui:order": ["snils"]}'},
                             follow_redirects=True).get_data(as_text=True)
    assert "сохранена" in saved
    assert json.loads((tmp_path / "forms" / "probe.uischema.json").read_text())["ui:order"] == ["snils"]
    refused = client.post_form("/modeler/forms/probe.schema.json", {"schema": "{oops", "ui_schema": ""},
                               follow_redirects=True).get_data(as_text=True)
    assert "не JSON" in refused
    assert client.get("/modeler/forms/../../etc.schema.json").status_code == 404
    assert client.get("/modeler/forms/new?name=Bad Name").status_code == 302


def test_scenarios_of_a_process_run_from_the_modeler(web) -> None:
    client = web.login("analyst")
    page = client.get("/modeler/processes/qualification_confirmation/scenarios").get_data(as_text=True)
    assert "qualification_happy_path.yaml" in page and "medbook_happy_path.yaml" not in page
    clock_before = web.medflow.clock.now()
    report = client.post_form("/modeler/processes/qualification_confirmation/scenarios").get_data(as_text=True)
    assert "Результат: 3 из 3 пройдено" in report and "Итог: пройден" in report
    assert web.medflow.clock.now() == clock_before  # the scenarios' simulated time stays in their process
    assert client.get("/modeler/processes/no_such/scenarios").status_code == 200
    applicant = web.login("ivanova")
    assert applicant.post_form("/modeler/processes/qualification_confirmation/scenarios").status_code in (302, 403)
