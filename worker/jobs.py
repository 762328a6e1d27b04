"""Run one job: claim it, train or generate, report every step, end in a true state.

This is what the Celery tasks call; it knows the reporter, the training loop and the
generator but nothing of Celery itself, so tests run it directly against a real Redis.
A training job handed back to the queue resumes from its last checkpoint.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import redis
import torch

from shared.downloads import cache_root
from shared.errors import GenqueueError
from shared.generation import GenerateSpec
from shared.queue import GENERATE_TASK, TRAIN_TASK
from shared.settings import Settings
from shared.spec import TrainSpec
from worker.artifacts import fetch_model, publish_model
from worker.checkpoints import checkpoint_to_resume, publish_checkpoint
from worker.datasets import ImageSet, load_images
from worker.folders import job_folder
from worker.generation import generate
from worker.health import epoch_warnings
from worker.memory import fails_when_out_of_memory
from worker.quality import QualityMeter, build_meter
from worker.reporter import Reporter
from worker.storage import Location
from worker.training.loop import RunInfo, train

logger = logging.getLogger(__name__)

# Set when the worker process is asked to shut down, so a running job stops at its
# next step and goes back to the queue instead of holding the shutdown for hours.
shutdown_requested = threading.Event()


# The folder of the data cache that holds the quality metric's classifiers.
QUALITY_CACHE = "quality-classifiers"


class JobInterrupted(Exception):
    """The worker is shutting down; the job should be handed back to the queue."""


class RunLost(Exception):
    """This run's lease lapsed and another worker has the job now."""


def pick_device() -> tuple[torch.device, str]:
    """CUDA when present, else the CPU, with a description for people."""
    if torch.cuda.is_available():
        index = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        memory = props.total_memory / 2**30
        return torch.device(
            "cuda", index
        ), f"cuda:{index} ({props.name}, {memory:.0f} GiB)"
    return torch.device("cpu"), f"cpu, {torch.get_num_threads()} threads"


@dataclass
class StreamCallbacks:
    """Training callbacks that turn progress into events on the job's stream."""

    reporter: Reporter
    spec: TrainSpec
    info: RunInfo | None = None
    started: float = 0.0
    images_seen: int = 0
    # Shares the saved epoch before the client hears of it; None keeps it local.
    publish: Callable[[], None] | None = None

    def on_start(self, info: RunInfo) -> None:
        self.info, self.started = info, time.monotonic()
        self.reporter.emit(
            "log",
            {
                "level": "info",
                "message": f"Training on {info.dataset}: {info.n_images} images of {info.image_shape}.",
            },
        )

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None:
        assert self.info is not None
        self.images_seen += min(self.spec.batch_size, self.info.n_images)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        progress = {
            "epoch": epoch,
            "epochs": self.spec.epochs,
            "step": step,
            "steps_per_epoch": self.info.steps_per_epoch,
            "images_per_second": round(self.images_seen / elapsed, 1),
        }
        self.reporter.step({"epoch": epoch, "step": step, **losses}, progress)

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None:
        if self.publish is not None:
            self.publish()
        self.reporter.emit("epoch", {"epoch": epoch, "means": means})
        for warning in epoch_warnings(means, self.spec.latent_dim, self.spec.lr):
            text = f"Epoch {epoch}: {warning}"
            self.reporter.emit("log", {"level": "warning", "message": text})
        for name, png in images.items():
            width, height = _png_size(png)
            payload = {"epoch": epoch, "name": name, "width": width, "height": height}
            self.reporter.emit("image", payload, png=png)

    def should_stop(self) -> bool:
        reporter = self.reporter
        lost = reporter.is_lost()
        return reporter.is_cancelled() or lost or shutdown_requested.is_set()


def quality_meter(
    data: ImageSet, reporter: Reporter, device: torch.device | None = None
) -> QualityMeter | None:
    """The per-epoch quality meter, or None (said in the log) when it cannot be built.

    FID when Inception weights are found (GENQUEUE_INCEPTION_WEIGHTS, or the
    dataset cache), else the classifier metric. The classifiers are cached beside
    the downloaded datasets, so each dataset's is trained once per machine, whatever
    home or artifact folder a worker uses.
    """

    def warn(text: str) -> None:
        reporter.emit("log", {"level": "warning", "message": text})

    cache_dir = cache_root() / QUALITY_CACHE
    try:
        meter = build_meter(data, cache_dir, device, warn)
    except (ValueError, OSError) as exc:
        warn(f"No quality metric: {exc}")
        return None
    text = f"Quality each epoch: {meter.describe()}."
    reporter.emit("log", {"level": "info", "message": text})
    return meter


def _is_uuid(text: object) -> bool:
    try:
        return str(uuid.UUID(str(text))) == text
    except ValueError:
        return False


def _png_size(png: bytes) -> tuple[int, int]:
    # The IHDR chunk holds width and height at fixed offsets in every PNG.
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


Work = Callable[[str, Any, Settings, Reporter, str], str]


def run_training_job(
    job_id: str, raw_spec: Any, settings: Settings, client: redis.Redis, worker: str
) -> str:
    """Train the job to an end state and return it; raise JobInterrupted on shutdown."""
    return run_job(_train, TRAIN_TASK, job_id, raw_spec, settings, client, worker)


def run_generation_job(
    job_id: str, raw_spec: Any, settings: Settings, client: redis.Redis, worker: str
) -> str:
    """Draw the images a generation job asks for; return its end state."""
    return run_job(_generate, GENERATE_TASK, job_id, raw_spec, settings, client, worker)


def run_job(
    work: Work,
    task: str,
    job_id: str,
    raw_spec: Any,
    settings: Settings,
    client: redis.Redis,
    worker: str,
) -> str:
    """Claim the job, run `work`, and report how it ended, whatever happens."""
    if not _is_uuid(job_id):
        # The id names the output folder and the Redis keys; refuse anything else.
        logger.error(
            "dropping a message with the job id %r, which is not a UUID; genqueue "
            "clients send UUIDs, so this message was written by hand or by another "
            "program on the queue",
            job_id,
        )
        return "dropped"
    holder = f"{worker} {threading.get_native_id()}"
    reporter = Reporter(client, job_id, holder, settings.lease_seconds)
    # What another worker needs to send the job again should this one vanish.
    claim = {
        "task": task,
        "spec": raw_spec,
        "queue": settings.queue,
        "max_attempts": settings.max_attempts,
    }
    refusal = reporter.acquire(claim)
    if refusal is not None:
        logger.warning("dropping a delivery of job %s: %s", job_id, refusal)
        return "dropped"
    try:
        return work(job_id, raw_spec, settings, reporter, worker)
    except JobInterrupted:
        reporter.finish(
            "interrupted",
            {"error": "The worker shut down; the job went back to the queue."},
        )
        raise
    except RunLost:
        reporter.finish("interrupted", {})  # sends nothing; stops the reporter
        logger.warning("job %s: run given up after its lease lapsed", job_id)
        return "lost"
    except GenqueueError as exc:
        logger.info("job %s failed: %s", job_id, exc)
        reporter.finish("failed", {"error": str(exc)})
        return "failed"
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        reporter.emit(
            "error", {"message": str(exc), "traceback": traceback.format_exc()}
        )
        reporter.finish("failed", {"error": f"{type(exc).__name__}: {exc}"})
        return "failed"


@fails_when_out_of_memory
def _train(
    job_id: str, raw_spec: Any, settings: Settings, reporter: Reporter, worker: str
) -> str:
    device, device_text = pick_device()
    spec = TrainSpec.from_json(raw_spec)
    output_dir = job_folder(settings.artifact_dir, job_id)
    location = Location.from_settings(settings)
    resume = checkpoint_to_resume(spec, output_dir, settings.artifact_dir, location)
    # A run that resumes says from which step, and the client drops what an
    # earlier, interrupted run of the same job recorded after it.
    start = resume.global_step if resume else 0
    running = {"device": device_text, "worker": worker, "start_step": start}
    reporter.emit("state", {"status": "running", **running})
    logger.info(
        "job %s started on %s (%s) at step %d", job_id, worker, device_text, start
    )
    if resume is not None:
        text = f"Resuming after epoch {resume.epoch}, step {resume.global_step}."
        reporter.emit("log", {"level": "info", "message": text})
    data = load_images(spec)
    if data.report is not None:
        level = "warning" if data.report.problems else "info"
        reporter.emit("log", {"level": level, "message": data.report.summary()})
    # Built when the first epoch ends, so the first step comes sooner.
    quality = partial(quality_meter, data, reporter, device)
    callbacks = StreamCallbacks(reporter, spec)
    if location is not None:
        callbacks.publish = partial(_publish, location, job_id, output_dir)
    result = train(spec, data, device, callbacks, output_dir, resume, quality)
    if result.stopped and reporter.is_lost():
        raise RunLost
    if result.stopped and shutdown_requested.is_set() and not reporter.is_cancelled():
        raise JobInterrupted
    status = "cancelled" if result.stopped else "succeeded"
    outputs = str(output_dir) if location is None else location.shown(job_id)
    reporter.finish(
        status, {"outputs": outputs, "epochs_completed": result.epochs_completed}
    )
    logger.info("job %s %s after %d steps", job_id, status, result.steps)
    return status


def _generate(
    job_id: str, raw_spec: Any, settings: Settings, reporter: Reporter, worker: str
) -> str:
    device, device_text = pick_device()
    spec = GenerateSpec.from_json(raw_spec)
    running = {"device": device_text, "worker": worker, "start_step": 0}
    reporter.emit("state", {"status": "running", **running})
    output_dir = job_folder(settings.artifact_dir, job_id)
    model_dir = job_folder(settings.artifact_dir, spec.source)
    location = Location.from_settings(settings)
    if location is not None:
        model_dir = fetch_model(location, spec.source, settings.artifact_dir)
    result = generate(spec, model_dir, output_dir, device)
    for name, png in result.grids.items():
        width, height = _png_size(png)
        payload = {"epoch": 0, "name": name, "width": width, "height": height}
        reporter.emit("image", payload, png=png)
    text = f"Wrote {len(result.files)} images to {output_dir}."
    reporter.emit("log", {"level": "info", "message": text})
    reporter.finish("succeeded", {"outputs": str(output_dir)})
    return "succeeded"


def _publish(location: Location, job_id: str, output_dir: Path) -> None:
    """Share the newest model and checkpoint; the checkpoint's marker goes last."""
    publish_model(location, job_id, output_dir)
    publish_checkpoint(location, job_id, output_dir)
