"""The whole API against its OpenAPI 3.1 document: schemathesis generates requests for every
operation and checks that no answer is a server error and every answer matches the document
(status codes, content types, response bodies)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web_harness import make_web

schemathesis.experimental.OPEN_API_3_1.enable()
# schemathesis 3.x uses jsonschema APIs that jsonschema 4.18+ deprecates: noise, not findings.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _hypothesis_jsonschema_compat() -> None:
    """hypothesis-jsonschema 0.23 calls ``many(...).more()``, which newer Hypothesis replaced with
    a context manager; give it the old method so objects can be generated."""
    import types

    import hypothesis.internal.conjecture.utils as cu
    from hypothesis_jsonschema import _from_schema

    if hasattr(cu.many, "more"):
        return

    class CompatMany(cu.many):  # type: ignore[misc, name-defined]
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self.__enter__()

        def more(self) -> bool:
            self._finish_element()
            if not self._decide():
                return False
            self.count += 1
            self._in_element, self._rejected = True, False
            return True

    shim = types.SimpleNamespace(**{name: getattr(cu, name) for name in dir(cu) if not name.startswith("__")})
    shim.many = CompatMany
    _from_schema.cu = shim


_hypothesis_jsonschema_compat()


@pytest.fixture(scope="module")
def api_web(tmp_path_factory):
    web = make_web(tmp_path_factory.mktemp("api"))
    # Some data to find: an application with an open task and a document.
    web.medflow.runtime.start("medbook_issuance", {}, actor="ivanova")
    return web


@pytest.fixture(scope="module")
def api_schema(api_web):
    return schemathesis.from_wsgi("/api/v1/openapi.json", api_web.app)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_openapi_document(case, api_web) -> None:
    headers = getattr(api_web, "_admin_headers", None)
    if headers is None:
        headers = api_web._admin_headers = api_web.token("admin")  # type: ignore[attr-defined]
    response = case.call_wsgi(headers=headers)
    case.validate_response(response, checks=(not_a_server_error, status_code_conformance,
                                              content_type_conformance, response_schema_conformance))


def test_document_lists_every_api_route(api_web) -> None:
    document = api_web.client().get("/api/v1/openapi.json").json
    documented = {path for path in document["paths"]}
    routes = {rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
              for rule in api_web.app.url_map.iter_rules() if rule.rule.startswith("/api/v1")}
    assert routes == documented
