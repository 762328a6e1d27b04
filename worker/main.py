"""Start a genqueue worker process."""

from __future__ import annotations

import logging

from celery import Celery

from shared.settings import Settings, redact
from worker.celery_app import HandBackFilter, create_app

logger = logging.getLogger(__name__)


def run_worker(
    settings: Settings, *, name: str, loglevel: str, app: Celery | None = None
) -> None:
    """Serve jobs until stopped, one at a time in this process.

    The solo pool runs each job in the worker's own process: torch in a forked pool
    child hangs once the parent has used it, and one GPU wants one job anyway.
    `app` is the worker's Celery app when the caller has built it (with a task of
    its own added), else it is built from `settings`.
    """
    logging.getLogger().setLevel(loglevel.upper())
    # Celery's task tracer logs rejections under this name.
    logging.getLogger("celery.app.trace").addFilter(HandBackFilter())
    app = app or create_app(settings)
    logger.info("serving queue %s on %s", settings.queue, redact(app.conf.broker_url))
    if settings.artifact_url is not None:
        where = redact(settings.artifact_url)
        logger.info("sharing models and checkpoints at %s", where)
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={settings.queue}",
            f"--hostname={name}",
            f"--loglevel={loglevel}",
            "--without-mingle",
            "--without-gossip",
        ]
    )
