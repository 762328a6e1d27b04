"""The Celery application of a genqueue worker, built from Settings."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.exceptions import Reject
from celery.signals import worker_ready, worker_shutdown, worker_shutting_down

from shared.queue import GENERATE_TASK, TRAIN_TASK, connect_redis, make_celery
from shared.settings import Settings
from worker import jobs
from worker.presence import Presence
from worker.recovery import Recovery

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> Celery:
    """A Celery app whose one task trains a job from its JSON spec."""
    app = make_celery(settings)
    client = connect_redis(settings)

    def send(task: str, job_id: str, spec: Any, queue: str) -> None:
        app.send_task(task, args=[job_id, spec], task_id=job_id, queue=queue)

    recovery = Recovery(client, send, settings.max_attempts)
    device = jobs.pick_device()[1]
    presence = Presence(client, settings.queue, device, chores=[recovery.sweep])

    @app.task(name=TRAIN_TASK, bind=True)
    def train(task: Any, job_id: str, spec: Any) -> str:
        worker = task.request.hostname or "worker"
        presence.current_job = job_id
        try:
            return jobs.run_training_job(job_id, spec, settings, client, worker)
        except jobs.JobInterrupted:
            raise Reject("worker shutting down", requeue=True) from None
        finally:
            presence.current_job = ""

    @app.task(name=GENERATE_TASK, bind=True)
    def generate(task: Any, job_id: str, spec: Any) -> str:
        worker = task.request.hostname or "worker"
        presence.current_job = job_id
        try:
            return jobs.run_generation_job(job_id, spec, settings, client, worker)
        finally:
            presence.current_job = ""

    @worker_ready.connect(weak=False)
    def announce(sender: Any, **_: Any) -> None:
        presence.start(sender.hostname)

    @worker_shutdown.connect(weak=False)
    def withdraw(**_: Any) -> None:
        presence.stop()

    return app


@worker_shutting_down.connect
def _on_shutting_down(**_: Any) -> None:
    jobs.shutdown_requested.set()


class HandBackFilter(logging.Filter):
    """Logs a job handed back on shutdown as one calm line, without a traceback.

    Celery logs every rejected task as a warning with the traceback of the
    Reject, which reads like a crash; handing the job back is what a worker that
    is stopped mid-job is meant to do.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if isinstance(data, dict) and data.get("description") == "rejected":
            record.msg = "job %s handed back to the queue; the next worker resumes it"
            record.args = (data.get("id"),)
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True
