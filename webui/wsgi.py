"""The WSGI entry point for gunicorn (or any WSGI server): ``gunicorn webui.wsgi:app``.

Each server process builds its own engine after the fork (database pool, caches): nothing is
shared between processes but the database. Migrations are not run here — `medflow init` runs
them once per release, and ``/ready`` answers 503 until the schema is at head. Timers run in
separate `medflow worker` processes, not in the web processes.
"""

from __future__ import annotations

from engine.bootstrap import build
from engine.config import load_settings
from webui.app import create_app

_medflow = build(load_settings(), run_migrations=False)
_medflow.warm_up()  # in each worker after the fork, before it accepts a request
app = create_app(_medflow)
