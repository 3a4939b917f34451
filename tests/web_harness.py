"""The web app on a throw-away engine: tmp SQLite, simulated clock, every process deployed, demo
accounts (password ``demo12345``) and a test client that logs in and sends the CSRF token.

>>> web = make_web(tmp_path)                        # doctest: +SKIP
>>> client = web.login("ivanova")                   # doctest: +SKIP
>>> client.post_form("/services/medbook_issuance/start", {})   # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from engine.accounts import Accounts
from engine.bootstrap import MedFlow
from tests.medflow_harness import DEFAULT_START, deploy_processes, make_medflow, sample_file
from webui.app import create_app
from webui.demo import DEMO_PASSWORD, seed_accounts

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class WebClient(FlaskClient):
    csrf: str | None = None

    def fetch_csrf(self, path: str = "/account") -> str:
        page = self.get(path).get_data(as_text=True)
        match = _TOKEN.search(page)
        assert match, f"no CSRF token on {path}"
        self.csrf = match.group(1)
        return self.csrf

    def post_form(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        body = dict(data or {})
        body.setdefault("csrf_token", self.csrf or self.fetch_csrf())
        return self.post(path, data=body, **kwargs)


@dataclass
class Web:
    medflow: MedFlow
    app: Flask
    accounts: Accounts

    def client(self) -> WebClient:
        return self.app.test_client()  # type: ignore[return-value]

    def login(self, username: str, password: str = DEMO_PASSWORD) -> WebClient:
        client = self.client()
        page = client.get("/login").get_data(as_text=True)
        token = _TOKEN.search(page).group(1)  # type: ignore[union-attr]
        response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.fetch_csrf()
        return client

    def token(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.accounts.issue_token(username, 'test')}"}


def make_web(tmp_path: Path, settings: dict[str, Any] | None = None, **config: Any) -> Web:
    """``settings`` override config.yaml's; ``config`` is Flask's."""
    medflow = make_medflow(tmp_path, DEFAULT_START, **(settings or {}))
    deploy_processes(medflow)
    return web_for(medflow, **config)


def web_for(medflow: MedFlow, **config: Any) -> Web:
    """The web application and the demo accounts on an engine a test has built its own way."""
    # Minimal argon2 cost: the tests check the rules, not the hash's strength.
    accounts = Accounts(medflow.db, medflow.settings, hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    seed_accounts(accounts)
    app = create_app(medflow, accounts, TESTING=True, **config)
    app.test_client_class = WebClient
    return Web(medflow, app, accounts)


def staff_web(medflow: MedFlow) -> Web:
    """The web app on the test diagrams' engine with a leaver: olga and oleg in «operators», pavel
    in «front» (password pass12345); ``web.task`` is a task of a group that is not olga's, hers."""
    web = web_for(medflow)
    for name, full, group in (("olga", "Ольга Уходящая", "operators"), ("oleg", "Олег Остающийся", "operators"),
                              ("pavel", "Павел Заместин", "front")):
        web.accounts.create(name, "pass12345", full, role="operator", groups=[group])
    task = medflow.runtime.start("answer_or_expire", {})["open_tasks"][0]["id"]
    medflow.runtime.assign(task, "olga", "supervisor")
    web.task = task  # type: ignore[attr-defined]
    return web


def medbook_post(person: int = 0, **overrides: Any) -> dict[str, Any]:
    """A medbook application as the browser posts it (flat dotted names), files to attach separately."""
    from handlers.demo_registry_data import demo_applicant

    data = {"filed_by": "self", "medbook.type": "regular", "medbook.work_category": "medical",
            "consent_personal_data": "on", "applicant.phone": "+79161234567", "applicant.email": "a@example.ru"}
    data.update({f"applicant.{k}": v for k, v in demo_applicant(person).items()})
    data.update(overrides)
    return data


def files(**names: str) -> dict[str, Any]:
    """{"documents.passport_scan": "passport.pdf"} → uploads with fitting content."""
    import io

    result = {}
    for field, name in names.items():
        kind = "pdf" if name.endswith(".pdf") else "png" if name.endswith(".png") else "jpeg"
        result[field.replace("__", ".")] = (io.BytesIO(sample_file(kind)), name)
    return result
