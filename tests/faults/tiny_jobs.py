"""Tiny training jobs for the fault tests, and a way to wait for their progress.

Every job here trains on the same 512 digits, so the quality metric's classifier is
trained once per session in the shared artifact folder, not once per job.
"""

from __future__ import annotations

import math
import time

from shared.client import Client
from shared.spec import TrainSpec

IMAGES = 512
BATCH = 16
PER_EPOCH = math.ceil(IMAGES / BATCH)


def vae(epochs: int, name: str, **fields: object) -> TrainSpec:
    """An MLP VAE on scikit-learn's digits: seconds an epoch on two CPU cores."""
    values = {"model": "vae", "dataset": "digits", "epochs": epochs}
    values |= {"batch_size": BATCH, "max_images": IMAGES, "name": name}
    return TrainSpec.from_json({**values, **fields})


def wait_for_step(client: Client, job_id: str, step: int, timeout: float) -> None:
    """Read the job's events until it has reached ``step``."""
    deadline = time.monotonic() + timeout
    while client.store.get_job(job_id).step < step:
        assert time.monotonic() < deadline, f"job {job_id} never reached step {step}"
        client.ingestor.poll(block_ms=200)
