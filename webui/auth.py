"""Logging in and out, roles, inactivity expiry, login throttling, the user's API tokens.

Sessions are Flask-Login sessions in a signed cookie; ``last_seen`` in the session ends a session
after ``web.session_minutes`` without requests. Failed logins lock an account in
:mod:`engine.accounts`; on top of that one address may try only so often (a person mistypes a few
times, a script tries thousands of names), counted in the database by :mod:`engine.login_throttle`
so that every web process enforces the same limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.accounts import AccountInfo, Accounts, LoginRefused
from engine.errors import EngineError
from engine.login_throttle import LoginThrottle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
ROLE_NAMES = {"applicant": "Заявитель", "operator": "Оператор", "analyst": "Аналитик",
              "supervisor": "Руководитель", "admin": "Администратор"}
TEMPORARY = "Пароль выдан руководителем и действует только для первого входа: задайте свой пароль."
HOME = {"applicant": "portal.index", "operator": "worklist.index", "analyst": "modeler.index",
        "supervisor": "monitor.index", "admin": "monitor.index"}


class WebUser(UserMixin):
    def __init__(self, info: AccountInfo) -> None:
        self.info = info

    def get_id(self) -> str:
        # The stamp changes with the password: a reset (or one's own change) ends the sessions
        # made before it, wherever they are (Flask-Login's "alternative tokens").
        return f"{self.info.id}:{self.info.session_stamp}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.info, name)


def accounts() -> Accounts:
    return current_app.extensions["accounts"]


def account() -> AccountInfo | None:
    """Who is acting: the API token's owner or the logged-in person."""
    if getattr(g, "api_account", None) is not None:
        return g.api_account
    return current_user.info if current_user.is_authenticated else None


def signed_in() -> AccountInfo:
    """Who is acting, on a page or route that let only a logged-in person through."""
    who = account()
    assert who is not None  # roles_required / require() turned everyone else away
    return who


def actor() -> str:
    who = account()
    return who.username if who else "anonymous"


def home_url(info: AccountInfo) -> str:
    return url_for(HOME.get(info.role, "portal.index"))


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Pages for the given roles (admins pass everywhere); others get 403, strangers the login page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.info.can(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: an open redirect (after login, or after
    a form that says where to go back to) would be a phishing tool. Browsers read a backslash as
    a slash, so ``/\\evil.example`` is another host too."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(home_url(current_user.info))
    error, username = None, ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:100]
        password = request.form.get("password", "")
        throttle: LoginThrottle = current_app.extensions["login_throttle"]
        if not throttle.allow(request.remote_addr or "?"):
            error = "Слишком много попыток входа с вашего адреса. Подождите несколько минут."
            return render_template("login.html", error=error, username=username), 429
        try:
            info = accounts().authenticate(username, password)
        except LoginRefused as exc:
            error = exc.message
        else:
            session.clear()
            login_user(WebUser(info))
            session.permanent = True
            session["last_seen"] = time.time()
            return redirect(safe_next(request.args.get("next")) or home_url(info))
    return render_template("login.html", error=error, username=username), 401 if error else 200


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        accounts().record_logout(current_user.username)
    logout_user()
    session.clear()
    flash("Вы вышли из системы.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
def account_page():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    new_token = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "issue":
                name = request.form.get("name", "").strip()[:200] or "API"
                new_token = accounts().issue_token(current_user.username, name)
            elif action == "revoke":
                accounts().revoke_token(current_user.username, int(request.form.get("token_id", "0") or 0))
                flash("Токен отозван.", "info")
            elif action == "password":
                was_temporary = current_user.info.password_temporary
                if _change_password() and was_temporary:
                    return redirect(home_url(current_user.info))
        except (EngineError, ValueError) as exc:
            flash(getattr(exc, "message", "Неверный запрос"), "error")
    return render_template("account.html", tokens=accounts().tokens(current_user.username), new_token=new_token,
                           role_name=ROLE_NAMES.get(current_user.role, current_user.role))


def _change_password() -> bool:
    current, new = request.form.get("current_password", ""), request.form.get("new_password", "")
    try:
        accounts().authenticate(current_user.username, current)
    except LoginRefused as exc:
        flash(f"Текущий пароль не подошёл: {exc.message}", "error")
        return False
    if new == current:
        flash("Новый пароль должен отличаться от текущего.", "error")
        return False
    accounts().set_password(current_user.username, new, actor=current_user.username)
    # The new password ends every session made before it; this one goes on under the new stamp.
    info = accounts().find(current_user.username)
    if info is not None:
        login_user(WebUser(info))
    flash("Пароль изменён. Другие сеансы с прежним паролем завершены.", "info")
    return True


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Войдите, чтобы продолжить."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    settings = app.extensions["medflow"].settings
    app.extensions["login_throttle"] = LoginThrottle(
        app.extensions["medflow"].db, int(settings.get("web.login_attempts_per_address", 30)),
        60 * float(settings.get("web.login_window_minutes", 5)))
    app.register_blueprint(bp)

    @login_manager.user_loader
    def _load(user_id: str) -> WebUser | None:
        number, _, stamp = user_id.partition(":")
        info = accounts().get(int(number)) if number.isdigit() else None
        if info is None or not info.active or stamp != info.session_stamp:
            return None  # disabled, or the password changed since this session began
        return WebUser(info)

    @login_manager.unauthorized_handler
    def _unauthorized():  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            abort(401)
        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def _expire_idle_session():  # type: ignore[no-untyped-def]
        if request.endpoint == "static" or request.path.startswith("/api/") or "_user_id" not in session:
            return None
        limit = float(app.config["SESSION_MINUTES"]) * 60
        now = time.time()
        last = float(session.get("last_seen", 0))
        if now - last > limit:
            username = current_user.username if current_user.is_authenticated else "?"
            logout_user()
            session.clear()
            accounts().record_logout(username, "inactivity")
            flash("Сеанс завершён после долгого бездействия. Войдите снова.", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        session["last_seen"] = now
        return None

    @app.before_request
    def _own_password_first():  # type: ignore[no-untyped-def]
        """A password someone else gave opens only the account page, to set one's own."""
        if (request.endpoint in ("static", "auth.account_page", "auth.logout") or request.path.startswith("/api/")
                or not current_user.is_authenticated or not current_user.info.password_temporary):
            return None
        flash(TEMPORARY, "info")
        return redirect(url_for("auth.account_page"))

    @app.context_processor
    def _inject() -> dict[str, Any]:
        who = current_user.info if current_user.is_authenticated else None
        return {"me": who, "role_names": ROLE_NAMES}
