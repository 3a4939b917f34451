"""The API under hostile requests: bad tokens, oversized bodies, wrong content types, junk JSON —
each a clear JSON error and no change."""

from __future__ import annotations

import pytest

from tests.web_harness import make_web


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    return make_web(tmp_path_factory.mktemp("api_hostile"))


@pytest.mark.parametrize("header", ["Bearer mf_not-a-token", "Bearer ", "Basic aXZhbm92YTpkZW1v", "mf_x", "Bearer \u0000"])
def test_bad_tokens_are_401_json(web, header):
    response = web.client().get("/api/v1/instances", headers={"Authorization": header})
    assert response.status_code == 401 and response.is_json and response.json["message"]


def test_oversized_wrong_type_and_junk_bodies(web):
    headers = web.token("ivanova")
    before = web.medflow.queries.instances(started_by="ivanova")
    huge = web.client().post("/api/v1/instances", data=b"{" + b" " * (60 * 1024 * 1024) + b"}",
                             content_type="application/json", headers=headers)
    assert huge.status_code == 413 and huge.is_json
    form = web.client().post("/api/v1/instances", data={"process_key": "medbook_issuance"}, headers=headers)
    assert form.status_code == 422 and form.is_json
    junk = web.client().post("/api/v1/instances", data=b"{not json", content_type="application/json", headers=headers)
    assert junk.status_code == 422 and junk.is_json
    wrong_shape = web.client().post("/api/v1/instances", json=["medbook_issuance"], headers=headers)
    assert wrong_shape.status_code == 422 and wrong_shape.is_json
    assert web.medflow.queries.instances(started_by="ivanova") == before
