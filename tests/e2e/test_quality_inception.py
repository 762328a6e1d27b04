"""A worker that finds Inception weights measures FID and says so, end to end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.client import Client
from shared.display import job_details
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from shared.spec import TrainSpec
from tests.conftest import WorkerProcess
from tests.worker.inception_weights import random_inception_state, write_safetensors

pytestmark = pytest.mark.e2e


@pytest.fixture
def fid_client(tmp_path: Path, redis_server: EmbeddedRedis) -> Iterator[Client]:
    """A client, and a worker whose GENQUEUE_INCEPTION_WEIGHTS names random weights."""
    weights = write_safetensors(
        tmp_path / "inception.safetensors", random_inception_state()
    )
    settings = Settings.load(
        home=tmp_path / "home",
        broker_url=redis_server.url,
        queue=f"test-{uuid.uuid4().hex[:8]}",
        environ={},
    )
    worker = WorkerProcess(
        settings, tmp_path / "worker.log", "fid@%h", inception_weights=str(weights)
    )
    yield Client(settings)
    worker.stop()


def test_a_job_on_a_worker_with_inception_weights_records_fid_inception(
    fid_client: Client,
) -> None:
    client = fid_client
    # Four images: two real halves of two, and two samples, at 299 pixels each.
    spec = TrainSpec(
        model="vae", dataset="digits", epochs=1, batch_size=4, max_images=4
    )

    job = client.wait(client.submit(spec), timeout=240)

    assert job.status == "succeeded", job.error
    (means,) = job_details(client.store, job.id)["epoch_losses"]
    assert means["fid_inception"] > means["fid_inception_floor"] >= 0.0
    assert "fd_classifier" not in means
    logs = [e.payload["message"] for e in client.store.events(job.id, types=["log"])]
    assert any(
        "Fréchet Inception distance" in m and "as fid_inception" in m for m in logs
    )
