"""A live MedFlow server on a free local port and Debian's chromium driven by Playwright.

Playwright's own browser download is not used: the tests need /usr/bin/chromium (`make chromium`).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web_harness import Web, make_web
from webui.demo import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
# Every run writes its screenshots to tests/artifacts/ (ignored by git); `make screenshots`
# (MEDFLOW_SCREENSHOTS=docs/screenshots) refreshes the ones the README links to.
SCREENSHOTS = Path(os.environ.get("MEDFLOW_SCREENSHOTS") or Path(__file__).resolve().parents[1] / "artifacts" / "screenshots")
if not SCREENSHOTS.is_absolute():
    SCREENSHOTS = Path(__file__).resolve().parents[2] / SCREENSHOTS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(web: Web) -> Iterator[str]:
    """``web`` on a free local port until the block ends: its base URL."""
    web.app.config["TESTING"] = False  # real error pages, as a person would see them
    port = _free_port()
    server = make_server("127.0.0.1", port, web.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def success_after(page, button) -> str:  # type: ignore[no-untyped-def]
    """Click ``button`` (a locator) and return the success message the next page flashes."""
    button.click()
    page.wait_for_selector(".flash-success")
    return page.locator(".flash-success").inner_text()


def logged_in_page(browser, base: str, user: str, *, downloads: bool = False):  # type: ignore[no-untyped-def]
    """A page of its own browser context, signed in as ``user`` (demo password, Russian locale).
    ``page.errors`` collects the page's uncaught script errors for the test to assert empty."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU", accept_downloads=downloads)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[Web, str]]:
    web = make_web(tmp_path_factory.mktemp("live"))
    try:
        with serving(web) as base:
            yield web, base
    finally:
        web.medflow.db.dispose()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("нет /usr/bin/chromium: выполните `make chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
