"""Messages put on the queue by hand cannot make a worker read or write outside its folders.

Each test sends a raw message with `send_task`, as anyone holding the broker's
password could, to a real worker, and follows the job through a client's history.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.client import Client
from shared.errors import DatasetError
from shared.history import JobView
from shared.queue import GENERATE_TASK, TRAIN_TASK, make_celery
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from shared.spec import JOB_ID_EXAMPLE, TrainSpec
from tests.conftest import WorkerProcess, queue_settings, serve

pytestmark = pytest.mark.e2e

DIGITS = {"model": "vae", "dataset": "digits", "epochs": 1, "max_images": 256}


@pytest.fixture(scope="module")
def settings(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Settings:
    home = tmp_path_factory.mktemp("deep") / "a" / "b" / "home"
    return queue_settings(home, redis_server)


@pytest.fixture(scope="module")
def worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    yield from serve(settings, tmp_path_factory, "paths@%h")


@pytest.fixture(scope="module")
def client(settings: Settings, worker: WorkerProcess) -> Client:
    return Client(settings)


def send_raw(settings: Settings, task: str, job_id: Any, spec: Any) -> None:
    app = make_celery(settings)
    try:
        app.send_task(task, args=[job_id, spec], task_id=str(uuid.uuid4()))
    finally:
        app.close()


def forge(client: Client, task: str, spec: dict[str, Any]) -> JobView:
    """Send `spec` raw under a new id the history follows; return how the job ended."""
    job_id = str(uuid.uuid4())
    kind = "generate" if task == GENERATE_TASK else "train"
    client.store.add_job(job_id, {"kind": kind, "model": "vae", "dataset": "digits"})
    send_raw(client.settings, task, job_id, spec)
    return client.wait(job_id, timeout=90)


@pytest.mark.parametrize("task", [TRAIN_TASK, GENERATE_TASK])
def test_a_job_id_that_is_a_path_is_dropped_and_nothing_is_written(
    client: Client, worker: WorkerProcess, task: str, tmp_path: Path
) -> None:
    artifacts = client.settings.artifact_dir
    absolute = tmp_path / "absolute"
    names = ["../../escaped", "..", str(absolute), f"../{uuid.uuid4()}"]
    spec = {**DIGITS} if task == TRAIN_TASK else {"source": str(uuid.uuid4())}

    for name in names:
        send_raw(client.settings, task, name, spec)
    # One worker takes messages in order: once this job ends, the others were seen.
    after = forge(client, TRAIN_TASK, {**DIGITS, "epochs": 0})

    assert after.status == "failed"
    log = worker.log()
    for name in names:
        assert f"the job id {name!r}, which is not a UUID" in log
    assert not absolute.exists()
    near = [p.name for p in artifacts.parent.parent.parent.rglob("*")]
    assert "escaped" not in near and not list(artifacts.parent.glob("*-*-*-*-*"))


@pytest.mark.parametrize(
    "source", ["../../etc", "/etc/passwd", f"../{JOB_ID_EXAMPLE}", ".."]
)
def test_a_generation_source_that_is_a_path_fails_the_job_naming_it(
    client: Client, source: str
) -> None:
    job = forge(client, GENERATE_TASK, {"source": source, "count": 4})

    assert job.status == "failed"
    assert job.error == (
        f"source must be a job id, a UUID such as {JOB_ID_EXAMPLE}, got {source!r}."
    )


def test_resume_from_a_path_fails_the_job_naming_it(client: Client) -> None:
    job = forge(client, TRAIN_TASK, {**DIGITS, "resume_from": "../victim"})

    assert job.status == "failed"
    assert job.error == (
        f"resume_from must be a job id, a UUID such as {JOB_ID_EXAMPLE}, "
        "got '../victim'."
    )


@pytest.mark.parametrize(
    ("dataset", "says"),
    [
        ("../../home", "Dataset '../../home' is a relative path"),
        ("data/images", "Dataset 'data/images' is a relative path"),
        ("/srv/data/../../etc", "'/srv/data/../../etc' steps up with '..'; give "),
        ("/srv/a\x00b", "holds a NUL character"),
        ("/" + "x" * 5000, "dataset must have at most 4096 characters"),
    ],
)
def test_a_dataset_path_the_client_would_not_send_fails_the_job(
    client: Client, dataset: str, says: str
) -> None:
    job = forge(client, TRAIN_TASK, {**DIGITS, "dataset": dataset})

    assert job.status == "failed"
    assert says in job.error


def test_a_link_in_the_artifact_folder_cannot_send_a_job_elsewhere(
    client: Client, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    job_id = str(uuid.uuid4())
    artifacts = client.settings.artifact_dir
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / job_id).symlink_to(elsewhere)
    client.store.add_job(job_id, DIGITS)

    send_raw(client.settings, TRAIN_TASK, job_id, DIGITS)
    job = client.wait(job_id, timeout=90)

    assert job.status == "failed"
    assert f"leads to {elsewhere}, outside the artifact folder" in job.error
    assert list(elsewhere.iterdir()) == []


def test_the_client_refuses_a_relative_worker_path_before_queueing(
    client: Client,
) -> None:
    spec = TrainSpec.from_json({**DIGITS, "dataset": "data/images"})
    before = len(client.store.list_jobs(limit=1000))

    with pytest.raises(DatasetError, match="give the absolute path on the worker"):
        client.submit(spec, check_dataset=False)

    assert len(client.store.list_jobs(limit=1000)) == before
