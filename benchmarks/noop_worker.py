"""A real genqueue worker with one more task: a job that does no work.

The tiny-jobs row measures what genqueue's path costs a job beside raw Celery: the
client's history row and message, the worker's checks, lease and claim, its state
events through the reporter, and their ingestion into SQLite. This worker is the one
`genqueue worker` runs (`worker.celery_app.create_app`, the solo pool, presence and
recovery), with a task that goes through `worker.jobs.run_job` like training and
generation do, but has nothing to do between "running" and "succeeded".

    python -m benchmarks.noop_worker --name bench@%h   # settings from GENQUEUE_*
"""

from __future__ import annotations

import argparse
from typing import Any

from shared.queue import connect_redis
from shared.settings import Settings
from worker import jobs
from worker.celery_app import create_app
from worker.main import run_worker
from worker.reporter import Reporter

NOOP_JOB = "genqueue.bench.noop"


def _nothing(
    job_id: str, raw_spec: Any, settings: Settings, reporter: Reporter, worker: str
) -> str:
    running = {"device": "none", "worker": worker, "start_step": 0}
    reporter.emit("state", {"status": "running", **running})
    reporter.finish("succeeded", {"outputs": "", "epochs_completed": 0})
    return "succeeded"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="bench@%h")
    parser.add_argument("--loglevel", default="info")
    args = parser.parse_args(argv)
    settings = Settings.load()
    app = create_app(settings)
    client = connect_redis(settings)

    @app.task(name=NOOP_JOB, bind=True)
    def noop_job(task: Any, job_id: str, spec: Any) -> str:
        worker = task.request.hostname or "worker"
        return jobs.run_job(_nothing, NOOP_JOB, job_id, spec, settings, client, worker)

    run_worker(settings, name=args.name, loglevel=args.loglevel, app=app)


if __name__ == "__main__":
    main()
