"""A job that runs out of memory fails with advice; the same worker goes on.

The worker process gets a real address-space limit (RLIMIT_AS, set on the running
process with prlimit), calibrated from what it maps once it has run a tiny job: the
tiny jobs fit in the headroom, while a DCGAN at 64 px with a batch of 2,048 needs
gigabytes and is refused by the allocator. Where the limit is off, the system would
have had to run out of memory instead, which no test can do safely.
"""

from __future__ import annotations

import resource
from dataclasses import replace
from pathlib import Path

import numpy as np
import psutil
import pytest

from shared.client import Client
from shared.settings import Settings
from shared.spec import TrainSpec
from tests.faults.tiny_jobs import vae

pytestmark = pytest.mark.e2e

# Room above what the warmed-up worker maps: ample for a tiny job, about a quarter
# of what the big one asks for before its first step ends.
HEADROOM = 1 << 30
BIG_BATCH = 2048


def noise_images(folder: Path) -> Path:
    """Unlabelled 64x64 noise, so the quality metric uses random features."""
    path = folder / "noise.npz"
    pixels = np.random.default_rng(0).integers(0, 256, (BIG_BATCH, 64, 64))
    np.savez(path, images=pixels.astype(np.uint8))
    return path


def test_an_out_of_memory_job_fails_with_advice_and_the_next_job_runs(
    settings: Settings, shared_artifacts: Path, start_worker, tmp_path: Path
) -> None:
    settings = replace(settings, artifact_dir=shared_artifacts)
    worker = start_worker(settings)
    client = Client(settings)
    assert (
        client.wait(client.submit(vae(1, "warm up")), timeout=120).status == "succeeded"
    )
    process = psutil.Process(worker.process.pid)
    limit = process.memory_info().vms + HEADROOM
    resource.prlimit(process.pid, resource.RLIMIT_AS, (limit, limit))
    big = TrainSpec.from_json(
        {
            "model": "dcgan",
            "dataset": str(noise_images(tmp_path)),
            "image_size": 64,
            "batch_size": BIG_BATCH,
            "epochs": 1,
        }
    )
    before = process.memory_info().rss

    failed = client.wait(client.submit(big), timeout=180)
    after = process.memory_info().rss
    next_job = client.wait(client.submit(vae(1, "after it")), timeout=120)

    assert failed.status == "failed", worker.log()
    assert failed.error.startswith(
        f"Out of host memory with batch size {BIG_BATCH} at 64 px (could not allocate"
    )
    assert f"--batch-size {BIG_BATCH // 2} or smaller" in failed.error
    # What the big job took was handed back, not kept by the worker.
    assert after - before < HEADROOM // 2
    assert next_job.status == "succeeded", worker.log()
    assert next_job.worker == failed.worker and worker.process.poll() is None
    assert resource.prlimit(process.pid, resource.RLIMIT_AS) == (limit, limit)
