"""Profile what a worker does for the tiny job, in this process, with pyinstrument.

    .venv/bin/python -m benchmarks.job_profile [JOBS]

The queue rows run real worker processes, which a profiler in the benchmark
process cannot see. This runs the same function the worker's Celery task calls
(worker/jobs.py `run_training_job`) against a Redis of its own, once untimed so
imports and the quality metric's cached classifier are in place, then JOBS times
under the profiler, and prints the profile. Needs the bench extra.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

import redis
from pyinstrument import Profiler

from benchmarks.queue_path import TINY_JOB
from benchmarks.services import bench_settings, start_redis
from worker.jobs import run_training_job


def main(argv: list[str]) -> None:
    jobs = int(argv[0]) if argv else 10
    folder = Path(tempfile.mkdtemp(prefix="genqueue-profile-"))
    server = start_redis(folder)
    try:
        settings = bench_settings(folder / "home", server)
        client = redis.Redis.from_url(server.url)

        def run() -> None:
            status = run_training_job(
                str(uuid.uuid4()), TINY_JOB, settings, client, "profile"
            )
            assert status == "succeeded", status

        run()
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(jobs):
            run()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
