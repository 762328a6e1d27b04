"""A job goes from the client through Redis to a real worker and back into SQLite."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from shared.client import Client
from shared.events import stream_key
from shared.spec import TrainSpec
from tests.data_paths import path_dataset
from worker.artifacts import load_generator

pytestmark = pytest.mark.e2e

SIDE = path_dataset()[2]
GRID_SIDE = 8 * SIDE + 9 * 2  # 64 samples, 8 a row, 2 pixels of padding


def train_spec(model: str, **overrides: object) -> TrainSpec:
    fields = {
        "model": model,
        "dataset": path_dataset()[0],
        "epochs": 2,
        "batch_size": 64,
        "max_images": 384,
        "seed": 1,
        **overrides,
    }
    return TrainSpec.from_json(fields)


def wait_for_step(client: Client, job_id: str, step: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while client.store.get_job(job_id).step < step:
        assert time.monotonic() < deadline, f"job {job_id} never reached step {step}"
        client.ingestor.poll(block_ms=200)


def run_to_end(client: Client, spec: TrainSpec, timeout: float = 180) -> str:
    job_id = client.submit(spec)
    job = client.wait(job_id, timeout=timeout)
    assert job.status == "succeeded", job.error
    return job_id


def test_vae_job_succeeds_with_falling_loss_and_nonnegative_kl(
    e2e_client: Client,
) -> None:
    job_id = run_to_end(e2e_client, train_spec("vae", epochs=3))

    rows = e2e_client.store.metrics(job_id)
    assert [r.step for r in rows] == list(range(1, 3 * 6 + 1))
    assert all(math.isfinite(v) for r in rows for v in r.values.values())
    assert min(r.values["kl"] for r in rows) >= 0.0
    summaries = [m for _, m in e2e_client.store.epoch_means(job_id)]
    means = [m["loss"] for m in summaries]
    assert len(means) == 3 and means[-1] < means[0]
    quality = [m["fd_classifier"] for m in summaries]
    assert all(
        m["fd_classifier_floor"] < q for m, q in zip(summaries, quality, strict=True)
    )


def test_gan_job_succeeds_with_finite_losses(e2e_client: Client) -> None:
    job_id = run_to_end(e2e_client, train_spec("gan", epochs=1))

    rows = e2e_client.store.metrics(job_id)
    assert len(rows) == 6
    for row in rows:
        assert set(row.values) == {"d_loss", "g_loss", "d_real", "d_fake"}
        assert all(math.isfinite(v) for v in row.values.values())
        assert 0.0 <= row.values["d_real"] <= 1.0 and 0.0 <= row.values["d_fake"] <= 1.0


def test_job_records_device_worker_and_outputs(e2e_client: Client) -> None:
    job_id = run_to_end(e2e_client, train_spec("gan", epochs=1))

    job = e2e_client.store.get_job(job_id)
    assert job.device.startswith("cpu") or job.device.startswith("cuda")
    assert job.worker.startswith("e2e@")
    assert job.started_at <= job.finished_at
    assert job.outputs.endswith(job_id)


def test_every_epoch_has_sample_grids_of_the_expected_size(e2e_client: Client) -> None:
    job_id = run_to_end(e2e_client, train_spec("vae", epochs=2))

    images = e2e_client.store.images(job_id)
    names = sorted((i.epoch, i.name) for i in images)
    assert names == [
        (1, "reconstructions"),
        (1, "samples"),
        (2, "reconstructions"),
        (2, "samples"),
    ]
    for image in images:
        with Image.open(image.path) as png:
            png.load()
            if image.name == "samples":
                assert png.size == (GRID_SIDE, GRID_SIDE)
            assert png.size == (image.width, image.height)


def test_every_event_is_stored_exactly_once(e2e_client: Client) -> None:
    job_id = run_to_end(e2e_client, train_spec("vae", epochs=2))
    e2e_client.sync()
    e2e_client.sync()

    stream_ids = [
        sid.decode() for sid, _ in e2e_client.redis.xrange(stream_key(job_id))
    ]
    stored = [e.stream_id for e in e2e_client.store.events(job_id)]
    assert stored == stream_ids
    assert len(set(stored)) == len(stored)


def test_saved_model_reloads_and_generates_images_of_the_right_shape(
    e2e_client: Client,
) -> None:
    job_id = run_to_end(e2e_client, train_spec("gan", epochs=1, latent_dim=16))

    outputs = e2e_client.store.get_job(job_id).outputs
    generator, spec, shape = load_generator(Path(outputs))
    with torch.no_grad():
        images = generator.sample(torch.randn(5, spec.latent_dim))
    assert tuple(images.shape) == (5, 1, SIDE, SIDE)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_unreadable_dataset_fails_the_job_with_its_path(
    e2e_client: Client, tmp_path
) -> None:
    missing = tmp_path / "not-here"
    spec = TrainSpec.from_json({"model": "vae", "dataset": str(missing), "epochs": 1})
    job_id = e2e_client.submit(spec, check_dataset=False)

    job = e2e_client.wait(job_id, timeout=60)
    assert job.status == "failed"
    assert str(missing) in job.error


def test_cancel_stops_a_running_job_within_seconds(e2e_client: Client) -> None:
    spec = train_spec("vae", epochs=200, batch_size=16, max_images=2000)
    job_id = e2e_client.submit(spec)
    wait_for_step(e2e_client, job_id, 5)

    e2e_client.cancel(job_id)
    job = e2e_client.wait(job_id, timeout=15)
    assert job.status == "cancelled"
    assert job.epoch < 200
