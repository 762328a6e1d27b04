"""The `genqueue` command as a user types it, against a real Redis and worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.client import Client
from shared.settings import Settings
from tests.data_paths import path_dataset

pytestmark = pytest.mark.e2e


def genqueue(
    settings: Settings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GENQUEUE_HOME": str(settings.home),
        "GENQUEUE_BROKER_URL": settings.broker_url or "",
        "GENQUEUE_QUEUE": settings.queue,
    }
    command = [sys.executable, "-m", "shared.cli", *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout
    )


def genqueue_json(settings: Settings, *args: str) -> object:
    result = genqueue(settings, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def submit_failing(settings: Settings, tmp_path: Path, model: str) -> str:
    """Queue a job on an empty folder; the worker fails it for want of images."""
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    result = genqueue(
        settings,
        "submit",
        "train",
        "--model",
        model,
        "--dataset",
        str(empty),
        "--dataset-on-worker",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def submit_vae(settings: Settings, *extra: str) -> str:
    result = genqueue(
        settings,
        "submit",
        "train",
        "--model",
        "vae",
        "--dataset",
        path_dataset()[0],
        "--max-images",
        "256",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_submit_prints_the_job_id_and_wait_exits_zero(
    e2e_settings: Settings, e2e_client: Client
) -> None:
    job_id = submit_vae(
        e2e_settings, "--epochs", "2", "--batch-size", "64", "--name", "cli vae"
    )
    assert len(job_id) == 36

    waited = genqueue(e2e_settings, "wait", job_id)
    assert waited.returncode == 0, waited.stderr

    shown = genqueue_json(e2e_settings, "show", job_id)
    assert shown["status"] == "succeeded" and shown["name"] == "cli vae"
    assert [row["epoch"] for row in shown["epoch_losses"]] == [1, 2]
    assert shown["epoch_losses"][1]["loss"] < shown["epoch_losses"][0]["loss"]

    listed = genqueue_json(e2e_settings, "jobs")
    assert job_id in [job["id"] for job in listed]
    table = genqueue(e2e_settings, "jobs").stdout
    assert job_id[:8] in table and "succeeded" in table


def test_show_prints_losses_per_epoch_and_outputs(
    e2e_settings: Settings, e2e_client: Client
) -> None:
    job_id = submit_vae(e2e_settings, "--epochs", "2", "--batch-size", "64")
    assert genqueue(e2e_settings, "wait", job_id).returncode == 0

    text = genqueue(e2e_settings, "show", job_id[:8]).stdout
    assert "mean losses per epoch" in text and "reconstruction" in text
    assert job_id in text and "samples" in text


def test_wait_exits_nonzero_for_a_failed_job(
    e2e_settings: Settings, e2e_client: Client, tmp_path
) -> None:
    job_id = submit_failing(e2e_settings, tmp_path, "gan")

    waited = genqueue(e2e_settings, "wait", job_id)
    assert waited.returncode == 1
    assert str(tmp_path / "empty") in waited.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "0", "epochs must be between 1 and 10000, got 0"),
        ("--batch-size", "-3", "batch_size must be between 1 and 8192, got -3"),
        ("--lr", "5", "lr must be between 1e-06 and 1, got 5.0"),
        ("--latent-dim", "4096", "latent_dim must be between 1 and 1024, got 4096"),
    ],
)
def test_submit_refuses_out_of_range_values_naming_field_and_range(
    e2e_settings: Settings, option: str, value: str, message: str
) -> None:
    before = genqueue(e2e_settings, "jobs", "--json").stdout

    result = genqueue(
        e2e_settings,
        "submit",
        "train",
        "--model",
        "vae",
        "--dataset",
        "digits",
        option,
        value,
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert genqueue(e2e_settings, "jobs", "--json").stdout == before


@pytest.mark.parametrize(
    ("model", "option", "value", "message"),
    [
        (
            "gan",
            "--kl-weight",
            "0.5",
            "applies only to vae, conv_vae and cvae, not to gan",
        ),
        ("vae", "--critic-steps", "3", "applies only to wgan_gp, not to vae"),
    ],
)
def test_submit_refuses_an_option_the_model_does_not_read(
    e2e_settings: Settings, model: str, option: str, value: str, message: str
) -> None:
    before = genqueue(e2e_settings, "jobs", "--json").stdout

    result = genqueue(
        e2e_settings,
        "submit",
        "train",
        "--model",
        model,
        "--dataset",
        "digits",
        option,
        value,
    )

    assert result.returncode == 2
    assert message in result.stderr and option in result.stderr
    assert genqueue(e2e_settings, "jobs", "--json").stdout == before


def test_submit_refuses_a_missing_dataset_path_before_queueing(
    e2e_settings: Settings, tmp_path
) -> None:
    before = genqueue(e2e_settings, "jobs", "--json").stdout
    missing = tmp_path / "nope"

    result = genqueue(
        e2e_settings, "submit", "train", "--model", "vae", "--dataset", str(missing)
    )

    assert result.returncode == 2
    assert str(missing) in result.stderr
    assert genqueue(e2e_settings, "jobs", "--json").stdout == before


def test_wait_killed_mid_job_and_restarted_keeps_the_full_history(
    e2e_settings: Settings, e2e_client: Client
) -> None:
    job_id = submit_vae(e2e_settings, "--epochs", "20", "--batch-size", "16")
    env = {
        **os.environ,
        "GENQUEUE_HOME": str(e2e_settings.home),
        "GENQUEUE_BROKER_URL": e2e_settings.broker_url or "",
    }
    follower = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "wait", job_id],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while e2e_client.store.get_job(job_id).step < 20:
        assert time.monotonic() < deadline, "ingestion never reached step 20"
        time.sleep(0.05)
    follower.send_signal(signal.SIGKILL)
    follower.wait()
    stopped_at = e2e_client.store.get_job(job_id).step

    assert genqueue(e2e_settings, "wait", job_id).returncode == 0

    rows = e2e_client.store.metrics(job_id)
    assert stopped_at < 20 * 16
    assert [r.step for r in rows] == list(range(1, 20 * 16 + 1))
    assert [e for e, _ in e2e_client.store.epoch_means(job_id)] == list(range(1, 21))


def test_workers_lists_the_worker_with_its_queue_and_device(
    e2e_settings: Settings, e2e_client: Client
) -> None:
    online = genqueue_json(e2e_settings, "workers")

    mine = [w for w in online if w["queue"] == e2e_settings.queue]
    assert len(mine) == 1
    assert mine[0]["hostname"].startswith("e2e@")
    assert mine[0]["device"].startswith(("cpu", "cuda"))
    assert time.time() - mine[0]["heartbeat"] < 15


def test_submit_more_continues_a_job_from_its_checkpoint(
    e2e_settings: Settings, e2e_client: Client
) -> None:
    first = submit_vae(e2e_settings, "--epochs", "2", "--batch-size", "64")
    assert genqueue(e2e_settings, "wait", first).returncode == 0

    result = genqueue(e2e_settings, "submit", "more", first[:8], "--epochs", "2")
    assert result.returncode == 0, result.stderr
    second = result.stdout.strip()
    assert genqueue(e2e_settings, "wait", second).returncode == 0

    shown = genqueue_json(e2e_settings, "show", second)
    assert shown["spec"]["resume_from"] == first and shown["epochs"] == 4
    assert [row["epoch"] for row in shown["epoch_losses"]] == [3, 4]
    steps = [row.step for row in e2e_client.store.metrics(second)]
    assert steps == list(range(2 * 4 + 1, 4 * 4 + 1))  # 256 images, batches of 64


def test_submit_more_refuses_a_job_that_finished_no_epoch(
    e2e_settings: Settings, e2e_client: Client, tmp_path
) -> None:
    failed = submit_failing(e2e_settings, tmp_path, "vae")
    genqueue(e2e_settings, "wait", failed)

    result = genqueue(e2e_settings, "submit", "more", failed, "--epochs", "2")

    assert result.returncode == 2
    assert "finished no epoch" in result.stderr and "submit it again" in result.stderr
    zero = genqueue(e2e_settings, "submit", "more", failed, "--epochs", "0")
    assert zero.returncode == 2 and "at least 1, got 0" in zero.stderr


def test_submit_more_waits_for_a_running_job_to_end(
    e2e_settings: Settings, e2e_client: Client
) -> None:
    running = submit_vae(e2e_settings, "--epochs", "200", "--batch-size", "16")
    deadline = time.monotonic() + 60
    while e2e_client.store.get_job(running).status != "running":
        assert time.monotonic() < deadline
        e2e_client.ingestor.poll(block_ms=200)

    result = genqueue(e2e_settings, "submit", "more", running, "--epochs", "1")
    generate = genqueue(e2e_settings, "submit", "generate", running)

    assert result.returncode == 2 and "is still running" in result.stderr
    assert generate.returncode == 2 and "is still running" in generate.stderr
    assert genqueue(e2e_settings, "cancel", running).returncode == 0
