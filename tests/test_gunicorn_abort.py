"""gunicorn with MedFlow's settings (webui/gunicorn_conf.py): a request that runs past the
timeout is ended, where it hung is written to the log, and its step leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from engine.accounts import Accounts
from engine.clock import RealClock, install_clock
from tests import bpmn_samples as b
from tests.faults.facts import table_counts
from tests.faults.pg_cluster import free_port
from tests.faults.processes import PROJECT, cli_env, stop, stored_clock_medflow


@pytest.fixture
def slow_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'web.db'}"
    medflow = stored_clock_medflow(url)
    xml = b.bpmn(b.process("slow_start", b.service_task("ask", "test_slow", {"seconds": "20"}), b.user_task("after")))
    medflow.definitions.deploy({"slow_start.bpmn": xml.encode()})
    accounts = Accounts(medflow.db, medflow.settings)
    accounts.create("boss", "secret123", "Руководитель", role="supervisor")
    token = accounts.issue_token("boss", "test")
    port, log = free_port(), tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:webui.gunicorn_conf", "--workers", "1",
                                   "--timeout", "2", "--bind", f"127.0.0.1:{port}", "webui.wsgi:app"],
                                  cwd=PROJECT, env=cli_env(url), stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield medflow, f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}, log
    finally:
        stop(server)
        medflow.db.dispose()
        install_clock(RealClock())


def test_a_request_past_the_timeout_is_ended_and_says_where_it_hung(slow_app):
    medflow, base, headers, log = slow_app
    before = table_counts(medflow)
    answer = httpx.post(f"{base}/api/v1/instances", headers=headers,
                        json={"process_key": "slow_start", "data": {}}, timeout=30)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    assert answer.json() == {"error": "timeout", "message": "Запрос выполнялся дольше допустимого и был прерван. "
                                                           "Ничего не изменено — повторите позже."}
    written = log.read_text()
    assert "WORKER TIMEOUT" in written
    assert "in test_slow" in written and "engine_test_handlers.py" in written  # the handler it hung in
    assert table_counts(medflow) == before  # the step's transaction died with the worker
    assert httpx.get(f"{base}/ready", timeout=10).status_code == 200  # a new worker took over


def test_a_page_stopped_the_same_way_answers_a_russian_page():
    from webui.stopped_request import StoppedRequest

    def hangs(environ, start_response):  # type: ignore[no-untyped-def]
        raise SystemExit(1)  # what gunicorn's abort handler raises inside the request

    started = {}
    body = b"".join(StoppedRequest(hangs)({"PATH_INFO": "/services/medbook_issuance/start"},
                                          lambda status, headers, exc=None: started.update(status=status,
                                                                                          headers=dict(headers))))
    assert started["status"].startswith("503") and started["headers"]["Content-Type"].startswith("text/html")
    assert "Запрос прерван" in body.decode() and "Ничего не изменено" in body.decode()
