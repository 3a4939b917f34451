"""A lost database is a clear 503 (JSON for the API, a Russian page for people), not a 500."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from tests.web_harness import make_web


def test_database_errors_become_503_with_retry_after(tmp_path, monkeypatch):
    web = make_web(tmp_path)
    client = web.login("ivanova")
    headers = web.token("ivanova")

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(web.medflow.queries, "instances", unreachable)
    api = web.client().get("/api/v1/instances", headers=headers)
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json["error"] == "unavailable" and "базой данных" in api.json["message"]
    page = client.get("/applications")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "нет связи с базой данных" in text and "Traceback" not in text
