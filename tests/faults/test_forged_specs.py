"""A spec put on the queue by hand with bad values fails its job, naming the value.

The client refuses such specs before they are queued; these messages go past it with
`send_task`, as anyone holding the broker's password could send them, to a real
worker, and the job is followed through a client's history and the command line.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shared.client import Client
from shared.history import JobView
from shared.queue import GENERATE_TASK, TRAIN_TASK, make_celery
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from tests.conftest import WorkerProcess, queue_settings, serve

pytestmark = pytest.mark.e2e

DIGITS = {"model": "vae", "dataset": "digits", "epochs": 1, "max_images": 256}
SOURCE = {"source": str(uuid.uuid4())}


@pytest.fixture(scope="module")
def settings(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Settings:
    return queue_settings(tmp_path_factory.mktemp("home"), redis_server)


@pytest.fixture(scope="module")
def worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    yield from serve(settings, tmp_path_factory, "forged@%h")


@pytest.fixture(scope="module")
def client(settings: Settings, worker: WorkerProcess) -> Client:
    return Client(settings)


def send_raw(settings: Settings, task: str, args: list[Any]) -> None:
    app = make_celery(settings)
    try:
        app.send_task(task, args=args, task_id=str(uuid.uuid4()))
    finally:
        app.close()


def forge(client: Client, task: str, spec: Any) -> JobView:
    """Send `spec` raw under a new id the history follows; return how the job ended."""
    job_id = str(uuid.uuid4())
    kind = "generate" if task == GENERATE_TASK else "train"
    client.store.add_job(job_id, {"kind": kind, "model": "vae", "dataset": "digits"})
    send_raw(client.settings, task, [job_id, spec])
    return client.wait(job_id, timeout=90)


def genqueue(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GENQUEUE_HOME": str(settings.home)}
    command = [sys.executable, "-m", "shared.cli", *args]
    command += ["--broker", settings.broker_url or ""]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"epochs": 0}, "epochs must be between 1 and 10000, got 0."),
        ({"epochs": -5}, "epochs must be between 1 and 10000, got -5."),
        ({"epochs": "5"}, "epochs='5' is not valid: Input should be a valid integer."),
        ({"epochs": 2.5}, "epochs=2.5 is not valid: Input should be a valid integer."),
        (
            {"batch_size": 10**12},
            "batch_size must be between 1 and 8192, got 1000000000000.",
        ),
        (
            {"batch_size": True},
            "batch_size=True is not valid: Input should be a valid integer.",
        ),
        ({"lr": math.nan}, "lr must be between 1e-06 and 1, got nan."),
        ({"kl_weight": math.inf}, "kl_weight must be between 0 and 100, got inf."),
        (
            {"latent_dim": [20]},
            "latent_dim=[20] is not valid: Input should be a valid integer.",
        ),
        ({"seed": 2**40}, "seed must be between 0 and 4294967295, got 1099511627776."),
        ({"model": "[/red]rm"}, "model='[/red]rm' is not valid: Input should be 'vae'"),
        (
            {"dataset": None},
            "dataset=None is not valid: Input should be a valid string.",
        ),
        ({"shell": "rm -rf /"}, "Unknown field 'shell'; remove it."),
        ({"channels": 2}, "channels=2 is not valid: Input should be 1 or 3."),
        (
            {"critic_steps": 3},
            "critic_steps (--critic-steps) applies only to wgan_gp, not to vae; got 3.",
        ),
    ],
)
def test_a_bad_training_value_fails_the_job_naming_it(
    client: Client, fields: dict[str, Any], error: str
) -> None:
    job = forge(client, TRAIN_TASK, {**DIGITS, **fields})

    assert job.status == "failed" and job.started_at is None
    assert job.error.startswith(error), job.error


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"count": 10**9}, "count must be at most 1024, got 1000000000."),
        (
            {"steps": "ten"},
            "steps='ten' is not valid: Input should be a valid integer.",
        ),
        ({"indices": [3, -1]}, "indices[1] must be at least 0, got -1."),
        (
            {"indices": list(range(100_000))},
            "indices must have at most 256 values, got [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "
            "10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21....",
        ),
        ({"mode": "exfiltrate"}, "mode='exfiltrate' is not valid: Input should be"),
    ],
)
def test_a_bad_generation_value_fails_the_job_naming_it(
    client: Client, fields: dict[str, Any], error: str
) -> None:
    job = forge(client, GENERATE_TASK, {**SOURCE, **fields})

    assert job.status == "failed"
    assert job.error.startswith(error), job.error


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ([DIGITS], "A job spec must be a JSON object, got list."),
        ("epochs=5", "A job spec must be a JSON object, got str."),
        (None, "A job spec must be a JSON object, got NoneType."),
    ],
)
def test_a_spec_that_is_not_an_object_fails_the_job(
    client: Client, spec: Any, error: str
) -> None:
    assert forge(client, TRAIN_TASK, spec).error == error


def test_show_and_jobs_print_a_forged_value_as_text(client: Client) -> None:
    job = forge(client, TRAIN_TASK, {**DIGITS, "model": "[/red][bold]x"})

    shown = genqueue(client.settings, "show", job.id)
    listed = genqueue(client.settings, "jobs")

    assert shown.returncode == 0, shown.stderr
    assert listed.returncode == 0, listed.stderr
    assert "model='[/red][bold]x' is not valid" in shown.stdout
    assert "[/red][bold]x" in listed.stdout


@pytest.mark.parametrize("job_id", [12345, None, ["a"], {"id": 1}, ""])
def test_a_job_id_of_the_wrong_type_is_dropped_with_a_log_line(
    client: Client, worker: WorkerProcess, job_id: Any
) -> None:
    send_raw(client.settings, TRAIN_TASK, [job_id, DIGITS])
    # One worker takes messages in order: once this job ends, the other was seen.
    forge(client, TRAIN_TASK, {**DIGITS, "epochs": 0})

    assert f"the job id {job_id!r}, which is not a UUID" in worker.log()
