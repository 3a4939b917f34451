"""Flask application factory: one blueprint per audience, sessions, CSRF, security headers.

>>> app = create_app(build(load_settings()))     # doctest: +SKIP
>>> app.run(port=8080)                           # doctest: +SKIP
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.accounts import Accounts
from engine.bootstrap import MedFlow
from engine.db import DatabaseUnavailable, is_lock_timeout
from engine.errors import Busy, EngineError
from webui import auth, display, security
from webui.stopped_request import StoppedRequest

csrf = CSRFProtect()


def create_app(medflow: MedFlow, accounts: Accounts | None = None, **config: Any) -> Flask:
    """The web UI and API on an engine built by ``engine.bootstrap.build``."""
    import handlers  # the document store and certificates need the handlers bound to this engine

    handlers.setup(medflow)
    app = Flask(__name__)
    settings = medflow.settings
    max_total_mb = float(settings.get("documents.max_total_mb", 20))
    app.config.update(
        # A random key per process logs everybody out on restart; production sets MEDFLOW_WEB_SECRET_KEY.
        SECRET_KEY=str(settings.get("web.secret_key") or "") or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.mode == "production",
        SESSION_COOKIE_NAME="medflow_session",
        # One request carries at most the whole package of documents plus the form itself.
        MAX_CONTENT_LENGTH=int((max_total_mb + 1) * 1024 * 1024),
        WTF_CSRF_TIME_LIMIT=None,
        SESSION_MINUTES=float(settings.get("web.session_minutes", 30)),
    )
    app.config.update(config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["medflow"] = medflow
    app.extensions["accounts"] = accounts or Accounts(medflow.db, settings)
    app.wsgi_app = StoppedRequest(app.wsgi_app)  # type: ignore[method-assign]
    proxies = int(settings.get("web.proxies", 0))
    if proxies:
        # Behind nginx every request comes from 127.0.0.1: the login throttle would count all
        # people as one address. Trust X-Forwarded-* from exactly this many proxies, no more —
        # a client cannot choose its own address by sending the header itself.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    csrf.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    display.init_app(app)
    _register_blueprints(app)
    _register_errors(app)

    @app.before_request
    def _sync_clock() -> None:
        # `medflow clock advance` in another process moves the simulated time stored in the database.
        sync = getattr(medflow.clock, "sync", None)
        if sync is not None and request.endpoint != "static":
            sync()

    return app


def _register_blueprints(app: Flask) -> None:
    from webui import api_incidents, api_reports, api_staff, api_substitutions, api_tasks, forms_editor  # noqa: F401  (their routes join the api and modeler blueprints)
    from webui.api import api
    from webui.health import health
    from webui.metrics import instrument, metrics
    from webui.modeler import modeler
    from webui.monitor import monitor
    from webui.portal import portal
    from webui.report import report
    from webui.security_log import security
    from webui.staff import staff
    from webui.staff_accounts import staff_accounts
    from webui.substitutions import substitutions
    from webui.worklist import worklist

    csrf.exempt(api)  # token authentication only: no cookie, so no cross-site request to forge
    app.register_blueprint(portal)
    app.register_blueprint(worklist, url_prefix="/worklist")
    app.register_blueprint(substitutions, url_prefix="/worklist/substitutions")
    app.register_blueprint(modeler, url_prefix="/modeler")
    app.register_blueprint(monitor, url_prefix="/monitor")
    app.register_blueprint(report, url_prefix="/monitor")  # /monitor/report, /monitor/report.csv
    app.register_blueprint(staff, url_prefix="/monitor")  # /monitor/staff
    app.register_blueprint(staff_accounts, url_prefix="/monitor")  # /monitor/staff/new, …/edit
    app.register_blueprint(security, url_prefix="/monitor")  # /monitor/security, /api/v1/security-events
    app.register_blueprint(api, url_prefix="/api/v1")
    app.register_blueprint(health)  # /health, /ready
    app.register_blueprint(metrics)  # /metrics
    instrument(app.extensions["medflow"])


_STATUS_TEXT = {
    400: "Неверный запрос", 403: "Доступ запрещён", 404: "Страница не найдена",
    405: "Метод не поддерживается", 409: "Конфликт", 413: "Слишком большой запрос",
    422: "Данные не прошли проверку", 429: "Слишком много запросов", 500: "Внутренняя ошибка",
    503: "Сервис временно недоступен",
}  # fmt: skip


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_page(status: int, message: str, details: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    """Russian text for people, JSON for the API; never a stack trace."""
    if _wants_json():
        body = {"error": (details or {}).get("error") or _STATUS_TEXT.get(status, "error"), "message": message}
        body.update({k: v for k, v in (details or {}).items() if k != "error"})
        return jsonify(body), status
    title = _STATUS_TEXT.get(status, "Ошибка")
    return render_template("error.html", status=status, title=title, message=message), status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def _engine_error(exc: EngineError):  # type: ignore[no-untyped-def]
        response = make_response(error_page(exc.http_status, exc.message, exc.to_dict()))
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        return error_page(400, "Форма устарела или отправлена с другого сайта. Обновите страницу и повторите.")

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):  # type: ignore[no-untyped-def]
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_page(413, f"Слишком большой запрос: все файлы вместе должны быть меньше {limit} МБ.")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        default = {403: "У вас нет прав на это действие.", 404: "Такой страницы нет или она вам недоступна.",
                   405: "Этот адрес не принимает такой запрос."}
        message = default.get(status) if exc.description == type(exc).description else exc.description
        return error_page(status, message or _STATUS_TEXT.get(status, "Ошибка"))

    @app.errorhandler(OperationalError)
    @app.errorhandler(DatabaseUnavailable)
    def _database_down(exc: Exception):  # type: ignore[no-untyped-def]
        if is_lock_timeout(exc):  # a row another request holds too long (not an application's lock)
            return _engine_error(Busy("Данные сейчас изменяет другой запрос. Ничего не изменено — "
                                      "повторите через несколько секунд."))
        # A lost database is temporary and says nothing about the request: 503, retry later.
        app.logger.warning("database unavailable on %s: %s", request.path, exc)
        response = make_response(error_page(503, "Сервис временно недоступен: нет связи с базой данных. "
                                                 "Повторите через минуту — ничего не потеряно.", {"error": "unavailable"}))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error on %s", request.path)
        return error_page(500, "Что-то пошло не так. Мы записали ошибку; попробуйте ещё раз позже.")
