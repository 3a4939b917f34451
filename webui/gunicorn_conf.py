"""gunicorn settings for MedFlow's web processes (docs/production.md explains each choice):

    gunicorn -c python:webui.gunicorn_conf webui.wsgi:app

Options given on the command line win (``--bind``, ``--workers``); ``make bench`` runs exactly
this file with its own port and worker count.
"""

import multiprocessing
import os

bind = "127.0.0.1:8080"  # behind nginx / the load balancer (TLS ends there)
worker_class = "sync"  # one request at a time per process, whole, in arrival order
workers = 2 * multiprocessing.cpu_count()  # two per core: one runs Python while the other waits for PostgreSQL
timeout = 60  # a handler may call a slow registry; the request still ends
graceful_timeout = 30
max_requests = 20000  # recycle a process now and then (fragmentation), with jitter
max_requests_jitter = 2000
preload_app = False  # each process builds its own engine and pool after the fork
accesslog = "-"


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """/metrics across processes: a finished worker's counters leave the sum (see "Metrics")."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def worker_abort(worker):  # type: ignore[no-untyped-def]
    """gunicorn ends a request that ran past ``timeout``: first write where every thread was (the
    handler call a request hangs in), to the process's standard error."""
    import faulthandler
    import sys

    faulthandler.dump_traceback(file=sys.__stderr__, all_threads=True)
