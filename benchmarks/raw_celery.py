"""The baseline's Celery app: genqueue's broker settings, a result backend, no-op tasks.

The worker process imports this module by name (``celery -A benchmarks.raw_celery``)
and reads its home, broker and queue from BENCH_HOME, BENCH_BROKER_URL and
BENCH_QUEUE; the benchmark process calls `make_app` with the same settings.
"""

from __future__ import annotations

import os
import time

from celery import Celery

from shared.queue import celery_config
from shared.settings import Settings

NOOP = "bench.noop"
STAMP = "bench.stamp"


def make_app(settings: Settings) -> Celery:
    app = Celery("bench", set_as_current=False)
    app.conf.update(celery_config(settings))
    # The round trip needs an answer; genqueue's own jobs answer through streams.
    app.conf.update(result_backend=settings.broker_url, task_ignore_result=False)

    @app.task(name=NOOP)
    def noop() -> None:
        return None

    @app.task(name=STAMP)
    def stamp() -> float:
        """When the task began, on this machine's clock."""
        return time.time()

    return app


def _from_environment() -> Celery | None:
    names = ("BENCH_HOME", "BENCH_BROKER_URL", "BENCH_QUEUE")
    home, url, queue = (os.environ.get(name) for name in names)
    if not (home and url and queue):
        return None
    return make_app(Settings.load(home=home, broker_url=url, queue=queue, environ={}))


app = _from_environment()
