"""Flask application factory. The audiences' blueprints arrive with the web issue."""

from __future__ import annotations

from flask import Flask, jsonify

from engine.bootstrap import MedFlow


def create_app(medflow: MedFlow) -> Flask:
    app = Flask(__name__)
    app.extensions["medflow"] = medflow

    @app.get("/")
    def index() -> str:
        return ("<!doctype html><html lang='ru'><meta charset='utf-8'><title>MedFlow</title>"
                "<h1>MedFlow</h1><p>Движок процедур работает. Веб-интерфейс в разработке.</p></html>")

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    return app
