"""Worker memory: the peak resident set of a worker training the MLP VAE.

genqueue's side is a real `genqueue worker` process running one MLP VAE job on
MNIST's IDX file from submit to end, quality metric included; its peak is the
kernel's high-water mark for the process (VmHWM), read once the job has ended. It
runs twice, each time in a fresh worker: first on an empty cache, so the worker
trains the quality metric's classifier for the dataset (what the first job on a
dataset does), then with that classifier cached (what every later job does). The
first is the row's figure. The baseline is benchmarks/bare_loop.py run as its own
process on the same file, which reports its own peak the same way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.bare_loop import peak_rss_mb
from benchmarks.inputs import Source
from benchmarks.report import Row, margin_at_most
from benchmarks.services import REPO, genqueue_worker
from shared.client import Client
from shared.settings import Settings
from shared.spec import TrainSpec

JOB_SECONDS = 600.0


def genqueue_peak(
    settings: Settings, log: Path, source: Source, epochs: int, limit: int | None
) -> float:
    spec = {"model": "vae", "dataset": source.reference, "epochs": epochs}
    spec |= {"batch_size": 128, "max_images": limit, "name": "bench: memory"}
    worker = genqueue_worker(settings, log).wait_ready()
    try:
        client = Client(settings)
        job_id = client.submit(TrainSpec.from_json(spec))
        job = client.wait(job_id, timeout=JOB_SECONDS)
        if job.status != "succeeded":
            raise RuntimeError(f"memory job ended {job.status}: {job.error}")
        return peak_rss_mb(worker.pid)
    finally:
        worker.stop()


def bare_peak(source: Source, epochs: int, limit: int | None) -> float:
    command = [sys.executable, "-m", "benchmarks.bare_loop", source.reference]
    command += [str(epochs)] + ([str(limit)] if limit else [])
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return float(done.stdout.split("peak_rss_mb")[1])


def row(
    settings: Settings,
    log: Path,
    source: Source,
    epochs: int,
    limit: int | None,
    *,
    is_cached_too: bool = True,
) -> Row:
    """The row; `is_cached_too` adds the run with the classifier cached."""
    ours = genqueue_peak(settings, log, source, epochs, limit)
    details = {}
    if is_cached_too:
        second = log.with_suffix(".cached.log")
        details["classifier_cached_mb"] = genqueue_peak(
            settings, second, source, epochs, limit
        )
    theirs = bare_peak(source, epochs, limit)
    images = f"the first {limit:,}" if limit else "all"
    return Row(
        key="worker_memory",
        what="worker memory, MLP VAE",
        unit="MB peak RSS",
        genqueue=ours,
        baseline=theirs,
        baseline_is="the bare loop's own process (torch, numpy, the data, the model)",
        target=margin_at_most(100, "MB"),
        note=f"{source.description}, {images} images, {epochs} epoch(s), batch "
        "128; the worker trains the quality metric's classifier for the dataset",
        details=details,
    )
