"""Stand-in workers for the progress-lag row: real Reporters, a step every 100 ms.

Run as ``python -m benchmarks.emitter BROKER_URL SECONDS JOB_ID...``: one thread
per job, each holding the job's lease and reporting a training step ten times a
second through worker/reporter.py, as a worker's training loop would, then ending
the job. It trains nothing, so the app's lag is measured apart from torch's load on
the machine. Each step's row carries the wall-clock time it was recorded.
"""

from __future__ import annotations

import sys
import threading
import time

import redis

from shared.queue import TRAIN_TASK
from worker.reporter import Reporter

STEP_SECONDS = 0.1


def report(client: redis.Redis, job_id: str, seconds: float) -> None:
    reporter = Reporter(client, job_id, holder="bench-emitter")
    refusal = reporter.acquire({"task": TRAIN_TASK, "spec": {}, "queue": "bench"})
    if refusal is not None:
        raise RuntimeError(f"cannot report job {job_id}: {refusal}")
    reporter.emit("state", {"status": "running", "worker": "bench-emitter"})
    steps = round(seconds / STEP_SECONDS)
    started = time.monotonic()
    for step in range(1, steps + 1):
        # Paced from the start, so a late step does not push the rest back.
        time.sleep(max(0.0, started + step * STEP_SECONDS - time.monotonic()))
        row = {"epoch": 1, "step": step, "loss": 1.0 / step, "recorded": time.time()}
        progress = {"epoch": 1, "epochs": 1, "step": step, "steps_per_epoch": steps}
        reporter.step(row, progress)
    reporter.finish("succeeded", {})


def main(argv: list[str]) -> None:
    url, seconds, job_ids = argv[0], float(argv[1]), argv[2:]
    client = redis.Redis.from_url(url)
    threads = [
        threading.Thread(target=report, args=(client, job_id, seconds))
        for job_id in job_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
