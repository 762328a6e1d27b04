"""Workers that die, stop or receive a forged message leave every job in a true state.

A killed worker's job is resumed by the next worker; a job that loses its worker
every time is failed after max_attempts; a message delivered twice runs once.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import time
import uuid
from pathlib import Path

import pytest

from shared.client import Client
from shared.queue import TRAIN_TASK, make_celery
from shared.settings import Settings
from shared.spec import TrainSpec
from tests.conftest import queue_settings
from tests.data_paths import path_dataset
from tests.faults.conftest import FAST_LEASE_SECONDS

pytestmark = pytest.mark.e2e
PER_EPOCH = math.ceil(min(2000, path_dataset()[1]) / 16)


def long_vae(epochs: int = 40) -> TrainSpec:
    fields = {"model": "vae", "dataset": path_dataset()[0], "epochs": epochs}
    return TrainSpec.from_json({**fields, "batch_size": 16, "max_images": 2000})


def wait_until(client: Client, job_id: str, check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check(client.store.get_job(job_id)):
        assert time.monotonic() < deadline, f"job {job_id} never {what}"
        client.ingestor.poll(block_ms=200)


def test_a_killed_worker_leaves_the_job_interrupted_not_running(
    fast_client: Client, fast_settings: Settings, start_worker
) -> None:
    client = fast_client
    worker = start_worker(fast_settings)
    job_id = client.submit(long_vae())
    wait_until(client, job_id, lambda j: j.step > 10, 60, "reached step 10")

    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()
    wait_until(
        client,
        job_id,
        lambda j: j.status != "running",
        FAST_LEASE_SECONDS + 15,
        "left running",
    )

    job = client.store.get_job(job_id)
    assert job.status == "interrupted"
    assert "stopped renewing its lease" in job.error


def assert_whole_history(client: Client, job_id: str, epochs: int) -> list[dict]:
    """Every step once, every epoch once; return the payloads of its runs' starts."""
    steps = [row.step for row in client.store.metrics(job_id)]
    assert steps == list(range(1, epochs * PER_EPOCH + 1))
    assert [e for e, _ in client.store.epoch_means(job_id)] == list(
        range(1, epochs + 1)
    )
    return [
        e.payload
        for e in client.store.events(job_id, types=["state"])
        if e.payload["status"] == "running"
    ]


def test_a_stopped_worker_hands_its_job_back_and_the_next_one_resumes_it(
    client: Client, settings: Settings, start_worker
) -> None:
    per_epoch = PER_EPOCH
    first = start_worker(settings, "first@%h")
    job_id = client.submit(long_vae(epochs=4))
    wait_until(client, job_id, lambda j: j.epoch >= 2, 60, "reached epoch 2")

    first.process.send_signal(signal.SIGTERM)
    first.process.wait(30)
    wait_until(
        client, job_id, lambda j: j.status == "interrupted", 10, "was interrupted"
    )
    start_worker(settings, "second@%h")
    job = client.wait(job_id, timeout=120)

    assert job.status == "succeeded" and job.worker.startswith("second@")
    steps = [row.step for row in client.store.metrics(job_id)]
    assert steps == list(range(1, 4 * per_epoch + 1))
    assert [e for e, _ in client.store.epoch_means(job_id)] == [1, 2, 3, 4]
    runs = [
        e.payload
        for e in client.store.events(job_id, types=["state"])
        if e.payload["status"] == "running"
    ]
    assert runs[0]["start_step"] == 0
    assert runs[1]["start_step"] >= per_epoch  # the second run resumed a checkpoint
    # Handing the job back is logged as such, not as a crash.
    assert f"job {job_id} handed back to the queue" in first.log()
    assert "Traceback" not in first.log()


def test_cancelling_a_queued_job_with_no_worker_ends_it_and_it_never_runs(
    client: Client, settings: Settings, start_worker
) -> None:
    job_id = client.submit(long_vae(epochs=1))

    assert client.cancel(job_id).status == "cancelled"
    start_worker(settings)
    follow_up = client.submit(long_vae(epochs=1))
    assert client.wait(follow_up, timeout=120).status == "succeeded"

    job = client.store.get_job(job_id)
    assert job.status == "cancelled" and job.started_at is None
    assert [e.type for e in client.store.events(job_id)] == ["state"]


class _Payload:
    """Unpickling this makes a folder: proof that code from the message ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (os.mkdir, (str(self.marker),))


def test_a_pickle_message_is_refused_and_nothing_in_it_runs(
    client: Client, settings: Settings, start_worker, tmp_path: Path
) -> None:
    worker = start_worker(settings)
    marker = tmp_path / "pwned"
    forger = make_celery(settings)
    forger.conf.accept_content = ["json", "pickle"]
    job_id = str(uuid.uuid4())
    forger.send_task(TRAIN_TASK, args=[job_id, _Payload(marker)], serializer="pickle")
    assert pickle.dumps(_Payload(marker))  # the forged message really is a pickle

    follow_up = client.submit(long_vae(epochs=1))
    assert client.wait(follow_up, timeout=120).status == "succeeded"

    assert not marker.exists()
    assert "disallowed" in worker.log().lower()


def test_a_killed_workers_job_resumes_on_the_next_worker_from_its_checkpoint(
    fast_client: Client, fast_settings: Settings, start_worker
) -> None:
    client = fast_client
    workers = {
        name: start_worker(fast_settings, f"{name}@%h") for name in ("one", "two")
    }
    job_id = client.submit(long_vae(epochs=4))
    wait_until(client, job_id, lambda j: j.epoch >= 2, 90, "reached epoch 2")
    victim = client.store.get_job(job_id).worker.split("@")[0]
    killed_at = client.store.get_job(job_id).step

    workers[victim].process.send_signal(signal.SIGKILL)
    workers[victim].process.wait()
    wait_until(client, job_id, lambda j: j.status != "running", 60, "was interrupted")
    job = client.wait(job_id, timeout=180)

    assert job.status == "succeeded", job.error
    (survivor,) = set(workers) - {victim}
    assert job.worker.startswith(f"{survivor}@")
    runs = assert_whole_history(client, job_id, epochs=4)
    assert [run["start_step"] for run in runs][0] == 0
    assert PER_EPOCH <= runs[-1]["start_step"] <= killed_at + PER_EPOCH
    lost = [
        e.payload["error"]
        for e in client.store.events(job_id, types=["state"])
        if e.payload["status"] == "interrupted"
    ]
    assert any("(1 of 3 tries)" in text for text in lost), lost


def test_a_job_that_kills_its_worker_every_time_fails_after_max_attempts(
    redis_server, tmp_path: Path, start_worker
) -> None:
    environ = {
        "GENQUEUE_LEASE_SECONDS": str(FAST_LEASE_SECONDS),
        "GENQUEUE_MAX_ATTEMPTS": "2",
    }
    settings = queue_settings(tmp_path / "home", redis_server, environ)
    client = Client(settings)
    job_id = client.submit(long_vae(epochs=4))
    reached = 0
    for attempt in range(2):
        # Each run gets past where the last one was, then its worker is killed, as
        # the kernel's out-of-memory killer would.
        worker = start_worker(settings, f"doomed{attempt}@%h")
        wait_until(
            client,
            job_id,
            lambda j, past=reached: j.status == "running" and j.step > past + 5,
            90,
            f"ran again (attempt {attempt + 1})",
        )
        reached = client.store.get_job(job_id).step
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait()

    start_worker(settings, "last@%h")
    wait_until(client, job_id, lambda j: j.status == "failed", 60, "failed")

    job = client.store.get_job(job_id)
    assert job.error.startswith("Worker lost 2 times, last at step ")
    last_step = int(job.error.split("last at step ")[1].split()[0])
    assert reached <= last_step <= reached + PER_EPOCH
    follow_up = client.submit(long_vae(epochs=1))
    assert client.wait(follow_up, timeout=120).status == "succeeded"
    assert client.store.get_job(job_id).status == "failed"


def test_a_job_outliving_the_visibility_timeout_runs_exactly_once(
    redis_server, tmp_path: Path, start_worker
) -> None:
    environ = {"GENQUEUE_VISIBILITY_TIMEOUT": "2"}
    settings = queue_settings(tmp_path / "home", redis_server, environ)
    client = Client(settings)
    workers = [start_worker(settings, f"idle{n}@%h") for n in range(2)]
    job_id = client.submit(long_vae(epochs=40))
    drop = f"dropping a delivery of job {job_id}"

    # The idle worker takes back unacknowledged messages every few seconds once
    # the timeout has passed, and is handed this one while it still runs.
    deadline = time.monotonic() + 90
    while not any(drop in w.log() for w in workers):
        assert time.monotonic() < deadline, "the message was never delivered again"
        client.ingestor.poll(block_ms=500)
    client.cancel(job_id)
    job = client.wait(job_id, timeout=60)

    assert job.status == "cancelled"
    runs = [
        e.payload["worker"]
        for e in client.store.events(job_id, types=["state"])
        if e.payload["status"] == "running"
    ]
    assert len(runs) == 1
    (dropper,) = [n for n, w in enumerate(workers) if drop in w.log()]
    assert not runs[0].startswith(f"idle{dropper}@")  # the other worker dropped it
    steps = [row.step for row in client.store.metrics(job_id)]
    assert steps == list(range(1, len(steps) + 1)) and steps
    assert [p.name for p in settings.artifact_dir.iterdir()] == [job_id]


def test_a_job_cancelled_while_its_only_worker_is_dead_never_runs_again(
    fast_client: Client, fast_settings: Settings, start_worker
) -> None:
    client = fast_client
    worker = start_worker(fast_settings, "dying@%h")
    job_id = client.submit(long_vae(epochs=4))
    wait_until(client, job_id, lambda j: j.step > 5, 90, "reached step 5")
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()

    client.cancel(job_id)  # its lease still looks alive for a few seconds
    wait_until(client, job_id, lambda j: j.status == "cancelled", 30, "cancelled")
    start_worker(fast_settings, "next@%h")
    follow_up = client.submit(long_vae(epochs=1))

    assert client.wait(follow_up, timeout=120).status == "succeeded"
    client.ingestor.catch_up()
    job = client.store.get_job(job_id)
    assert job.status == "cancelled" and "was lost at step" in job.error
    starts = [
        e.payload["worker"]
        for e in client.store.events(job_id, types=["state"])
        if e.payload["status"] == "running"
    ]
    assert len(starts) == 1 and starts[0].startswith("dying@")
