"""Workers that die, stop or receive a forged message leave every job in a true state."""

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
from shared.events import LEASE_SECONDS
from shared.queue import TRAIN_TASK, make_celery
from shared.settings import Settings
from shared.spec import TrainSpec
from tests.data_paths import path_dataset

pytestmark = pytest.mark.e2e


def long_vae(epochs: int = 40) -> TrainSpec:
    fields = {"model": "vae", "dataset": path_dataset()[0], "epochs": epochs}
    return TrainSpec.from_json({**fields, "batch_size": 16, "max_images": 2000})


def wait_until(client: Client, job_id: str, check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check(client.store.get_job(job_id)):
        assert time.monotonic() < deadline, f"job {job_id} never {what}"
        client.ingestor.poll(block_ms=200)


def test_a_killed_worker_leaves_the_job_interrupted_not_running(
    client: Client, settings: Settings, start_worker
) -> None:
    worker = start_worker(settings)
    job_id = client.submit(long_vae())
    wait_until(client, job_id, lambda j: j.step > 10, 60, "reached step 10")

    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()
    wait_until(
        client,
        job_id,
        lambda j: j.status != "running",
        LEASE_SECONDS + 15,
        "left running",
    )

    job = client.store.get_job(job_id)
    assert job.status == "interrupted"
    assert "stopped renewing its lease" in job.error


def test_a_stopped_worker_hands_its_job_back_and_the_next_one_resumes_it(
    client: Client, settings: Settings, start_worker
) -> None:
    per_epoch = math.ceil(min(2000, path_dataset()[1]) / 16)
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
