"""The answer to a request the server stopped because it ran too long.

gunicorn ends a request that passes its ``timeout`` by raising ``SystemExit`` inside it (after
``worker_abort`` in webui/gunicorn_conf.py wrote where it hung). Flask lets a BaseException
through, so the person got gunicorn's English "Internal Server Error" page. By the time the
exception reaches this middleware, the step's transaction has rolled back (``Database.write``
leaves on any exception), so the answer can say that nothing changed. The process still exits
after the answer: gunicorn marked it as no longer alive before raising.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

MESSAGE = "Запрос выполнялся дольше допустимого и был прерван. Ничего не изменено — повторите позже."


class StoppedRequest:
    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return self.wsgi_app(environ, start_response)
        except SystemExit:
            if str(environ.get("PATH_INFO", "")).startswith("/api/"):
                body = json.dumps({"error": "timeout", "message": MESSAGE}, ensure_ascii=False).encode()
                kind = "application/json"
            else:
                body = (f'<!doctype html><html lang="ru"><meta charset="utf-8"><title>Запрос прерван</title>'
                        f"<h1>Запрос прерван</h1><p>{escape(MESSAGE)}</p></html>").encode()
                kind = "text/html; charset=utf-8"
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", kind), ("Retry-After", "30"),
                                                       ("Content-Length", str(len(body)))], sys.exc_info())
            return [body]
