"""The whole path of a job, from Client.submit to the history, against raw Celery.

genqueue's side runs a real genqueue worker (benchmarks/noop_worker.py: the worker
of `genqueue worker`, which also takes jobs that do no work); the baseline a plain
Celery worker with the same broker settings and tasks that do nothing
(raw_celery.py), on the same Redis.

The tiny-jobs row sends no-op jobs through the whole path: the history row, the
message, the worker's checks, lease and claim, the state events through the
reporter, and their ingestion into SQLite. A second row, with no target, drains the
cheapest real job: a one-step training of an MLP VAE on the first 16 of
scikit-learn's digits, batch 16, one epoch, which also reads its dataset, builds the
quality metric (its classifier cached after the first job), takes the step and
writes the epoch's checkpoint, model and sample grids.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from celery import Celery

from benchmarks.noop_worker import NOOP_JOB
from benchmarks.raw_celery import NOOP, STAMP
from benchmarks.report import Row, margin_at_most, no_target, ratio_at_least
from shared.client import Client
from shared.history import EventView
from shared.queue import TRAIN_TASK
from shared.spec import TrainSpec

TINY_JOB = {
    "model": "vae",
    "dataset": "digits",
    "epochs": 1,
    "batch_size": 16,
    "max_images": 16,
    "name": "bench: one step",
}
TINY_TEXT = "a one-step MLP VAE job on 16 digits (batch 16, one epoch)"
# The worker's first words once its run begins its first step.
FIRST_STEP_LOG = "Training on "
WAIT_SECONDS = 120.0


def tiny_spec() -> TrainSpec:
    return TrainSpec.from_json(TINY_JOB)


def warm_up(client: Client, jobs: int = 2) -> None:
    """Run jobs until the worker has imported, trained and cached what it needs."""
    for _ in range(jobs):
        _finish(client, client.submit(tiny_spec()))


def _finish(client: Client, job_id: str) -> None:
    job = client.wait(job_id, timeout=WAIT_SECONDS)
    if job.status != "succeeded":
        raise RuntimeError(f"benchmark job {job_id} ended {job.status}: {job.error}")


def _first(events: list[EventView], kind: str, test: Any) -> float:
    return next(e.time for e in events if e.type == kind and test(e.payload))


def submit_timings(client: Client) -> dict[str, float]:
    """Seconds from the submit call to its return, the job's start, its first step.

    The worker stamps its events with this machine's clock, so the differences hold.
    """
    started = time.time()
    job_id = client.submit(tiny_spec())
    returned = time.time()
    _finish(client, job_id)
    events = client.store.events(job_id)
    running = _first(events, "state", lambda p: p.get("status") == "running")
    first_step = _first(
        events, "log", lambda p: str(p.get("message")).startswith(FIRST_STEP_LOG)
    )
    return {
        "submit_call": returned - started,
        "to_running": running - started,
        "to_first_step": first_step - started,
    }


def raw_round_trip(app: Celery) -> dict[str, float]:
    """Seconds from send_task to the task's start, and to its answer."""
    started = time.time()
    began = app.send_task(STAMP).get(timeout=WAIT_SECONDS)
    return {"to_start": began - started, "round_trip": time.time() - started}


def submit_row(client: Client, app: Celery, rounds: int) -> Row:
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    raw_round_trip(app)
    for _ in range(rounds):
        ours.append(submit_timings(client))
        theirs.append(raw_round_trip(app))

    def ms(samples: list[dict[str, float]], name: str) -> float:
        return statistics.median(s[name] for s in samples) * 1000

    return Row(
        key="submit_to_first_step",
        what="submit to first training step",
        unit="ms",
        genqueue=ms(ours, "to_first_step"),
        baseline=ms(theirs, "round_trip"),
        baseline_is="a raw Celery task round trip (send_task to result) on the "
        "same Redis",
        target=margin_at_most(5, "ms"),
        note=f"{TINY_TEXT}, on an idle worker; median of {rounds}",
        details={
            "submit_call_ms": ms(ours, "submit_call"),
            "submit_to_running_ms": ms(ours, "to_running"),
            "raw_send_to_start_ms": ms(theirs, "to_start"),
            "running_to_first_step_ms": ms(ours, "to_first_step")
            - ms(ours, "to_running"),
        },
    )


def genqueue_drain(client: Client, count: int, task: str) -> float:
    """Jobs a second: queue `count` jobs for `task`, then read until all have ended."""
    spec = tiny_spec()
    started = time.perf_counter()
    # Client.submit with the task named: the same history row and message.
    pending = {client._record_and_send(spec, task) for _ in range(count)}
    deadline = time.monotonic() + WAIT_SECONDS * count
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} benchmark jobs never ended")
        client.ingestor.poll(block_ms=100)
        # One query for the jobs still open, not one for each job.
        pending &= {job_id for job_id, _ in client.store.jobs_to_follow()}
    seconds = time.perf_counter() - started
    failed = [j for j in client.store.list_jobs() if j.status != "succeeded"]
    if failed:
        raise RuntimeError(f"benchmark job {failed[0].id} ended {failed[0].status}")
    return count / seconds


def raw_drain(app: Celery, count: int) -> float:
    """Tasks a second: send `count` no-op tasks, then wait for every answer."""
    started = time.perf_counter()
    results = [app.send_task(NOOP) for _ in range(count)]
    for result in results:
        result.get(timeout=WAIT_SECONDS)
    return count / (time.perf_counter() - started)


def jobs_rows(client: Client, app: Celery, jobs: int, tasks: int) -> list[Row]:
    """No-op jobs, then one-step training jobs, each against a raw Celery drain."""
    noop = genqueue_drain(client, tasks, NOOP_JOB)
    raw = raw_drain(app, tasks)
    training = genqueue_drain(client, jobs, TRAIN_TASK)
    raw_again = raw_drain(app, tasks)
    baseline_is = "raw Celery draining no-op tasks from the same Redis"
    return [
        Row(
            key="tiny_jobs",
            what="tiny jobs through the whole path",
            unit="jobs/s",
            genqueue=noop,
            baseline=raw,
            baseline_is=baseline_is,
            target=ratio_at_least(0.5),
            note=f"{tasks} no-op jobs queued at once by the client and read into "
            f"SQLite until all ended; {tasks} raw tasks",
        ),
        Row(
            key="one_step_jobs",
            what="one-step training jobs through the whole path",
            unit="jobs/s",
            genqueue=training,
            baseline=raw_again,
            baseline_is=baseline_is,
            target=no_target(),
            note=f"{jobs} jobs, each {TINY_TEXT}, queued at once and read into "
            f"SQLite until all ended; {tasks} raw tasks",
        ),
    ]
