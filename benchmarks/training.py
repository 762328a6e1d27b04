"""Training step rows: genqueue's trainer, reporting to Redis, against a bare loop.

The genqueue side is what a worker runs: `train` with the worker's own stream
callbacks and a Reporter sending to a real Redis stream, a checkpoint, the model
and two sample grids at every epoch's end. The baseline is benchmarks/bare_loop.py
over the same image tensors with the same modules and updates. Both sides run whole
epochs, in turns, several times; the figure is the median time per step, epoch
ends included.

A stopwatch around the callbacks splits genqueue's epochs into data wait (from the
loop taking control back to its next batch being ready), step math, callbacks and
epoch ends, without touching the trainer.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import redis
import torch

from benchmarks import bare_loop
from benchmarks.inputs import Source
from benchmarks.report import Row, ratio_at_most
from shared.queue import TRAIN_TASK
from shared.spec import CONV_MODELS, TrainSpec
from worker.datasets import ImageSet, load_images
from worker.jobs import StreamCallbacks
from worker.models import build_model
from worker.models.gan import AdversarialPair
from worker.models.vae import vae_loss
from worker.reporter import Reporter
from worker.training import RunInfo, TrainingCallbacks, train


@dataclass(frozen=True)
class Workload:
    """One model on one dataset, loaded once and trained by both sides."""

    key: str
    title: str
    spec: TrainSpec
    data: ImageSet
    source: Source


@dataclass
class Stopwatch:
    """Where one genqueue run's time went, in seconds, from its callbacks."""

    steps: int = 0
    data_wait: float = 0.0
    step_math: float = 0.0
    callbacks: float = 0.0
    epoch_ends: float = 0.0
    total: float = 0.0
    started: float = 0.0
    _last: float = 0.0
    _ready: float = 0.0


class TimedCallbacks:
    """Passes every call on to the worker's callbacks and notes the time around it."""

    def __init__(self, inner: TrainingCallbacks) -> None:
        self.inner = inner
        self.watch = Stopwatch()

    def on_start(self, info: RunInfo) -> None:
        self.inner.on_start(info)
        self.watch.started = self.watch._last = time.perf_counter()

    def should_stop(self) -> bool:
        entered = time.perf_counter()
        self.watch.data_wait += entered - self.watch._last
        answer = self.inner.should_stop()
        self.watch._ready = time.perf_counter()
        self.watch.callbacks += self.watch._ready - entered
        return answer

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None:
        entered = time.perf_counter()
        self.watch.step_math += entered - self.watch._ready
        self.inner.on_step(epoch, step, losses)
        self.watch._last = time.perf_counter()
        self.watch.callbacks += self.watch._last - entered
        self.watch.steps += 1

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None:
        steps_ended = self.watch._last
        self.inner.on_epoch_end(epoch, means, images)
        self.watch._last = time.perf_counter()
        self.watch.epoch_ends += self.watch._last - steps_ended


def run_genqueue(
    work: Workload, client: redis.Redis, folder: Path, device: torch.device
) -> Stopwatch:
    """One worker-style run of `work.spec.epochs` epochs; the stream is real."""
    job_id = str(uuid.uuid4())
    reporter = Reporter(client, job_id, holder="bench")
    claim = {"task": TRAIN_TASK, "spec": work.spec.to_json(), "queue": "bench"}
    refusal = reporter.acquire(claim)
    assert refusal is None, refusal
    callbacks = TimedCallbacks(StreamCallbacks(reporter, work.spec))
    train(work.spec, work.data, device, callbacks, folder / job_id)
    ended = time.perf_counter()
    reporter.finish("succeeded", {})
    callbacks.watch.total = ended - callbacks.watch.started
    return callbacks.watch


def run_bare(work: Workload, device: torch.device) -> tuple[float, int]:
    """The bare loop over the same tensors and the same kind of module."""
    spec, images = work.spec, work.data.images.to(device)
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, work.data.image_shape, spec.latent_dim).to(device)
    if device.type == "cuda" and spec.model in CONV_MODELS:
        # As genqueue's Accelerator: conv weights and images laid out channels-last.
        layout = torch.channels_last
        model = model.to(memory_format=layout)  # type: ignore[call-overload]
        images = images.contiguous(memory_format=layout)
    autocast = _autocast(device)
    if isinstance(model, AdversarialPair):
        return bare_loop.train_gan(
            model.generator,
            model.discriminator,
            images,
            spec.batch_size,
            spec.epochs,
            spec.lr,
            spec.latent_dim,
            autocast,
        )

    def loss_fn(
        logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
    ) -> torch.Tensor:
        return vae_loss(logits, x, mu, logvar)["loss"]

    return bare_loop.train_vae(
        model, images, spec.batch_size, spec.epochs, spec.lr, loss_fn, autocast
    )


def _autocast(device: torch.device) -> Callable[[], AbstractContextManager[object]]:
    # As genqueue's Accelerator: bfloat16 forward passes on a GPU that has it.
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext


@dataclass
class Comparison:
    """Seconds per step for each side, one figure per round, and genqueue's split."""

    genqueue: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    watches: list[Stopwatch] = field(default_factory=list)

    def median_share(self, name: str) -> float:
        """The median over rounds of one part of genqueue's time over its step math."""
        return statistics.median(
            getattr(w, name) / w.step_math for w in self.watches if w.step_math
        )


def compare(
    work: Workload,
    client: redis.Redis,
    folder: Path,
    device: torch.device,
    rounds: int,
    warm: bool = True,
) -> Comparison:
    """Alternate the two sides for `rounds` rounds, swapping who goes first.

    With `warm`, one untimed run of each side first warms allocators and caches.
    """
    result = Comparison()
    if warm:
        run_bare(work, device)
        run_genqueue(work, client, folder, device)
    for round_ in range(rounds):
        sides = [_time_bare, _time_genqueue]
        for side in sides if round_ % 2 else reversed(sides):
            side(work, client, folder, device, result)
    return result


def _time_bare(
    work: Workload,
    client: redis.Redis,
    folder: Path,
    device: torch.device,
    result: Comparison,
) -> None:
    seconds, steps = run_bare(work, device)
    result.baseline.append(seconds / steps)


def _time_genqueue(
    work: Workload,
    client: redis.Redis,
    folder: Path,
    device: torch.device,
    result: Comparison,
) -> None:
    watch = run_genqueue(work, client, folder, device)
    result.genqueue.append(watch.total / watch.steps)
    result.watches.append(watch)


def workload(
    key: str, title: str, source: Source, fields: dict[str, object]
) -> Workload:
    spec = TrainSpec.from_json({"dataset": source.reference, **fields})
    return Workload(key, title, spec, load_images(spec), source)


def row(work: Workload, result: Comparison, limit: float, device: str) -> Row:
    """The table row: milliseconds per step, epoch ends included."""
    genqueue = statistics.median(result.genqueue) * 1000
    baseline = statistics.median(result.baseline) * 1000
    watch = result.watches[-1]
    images, shape = len(work.data.images), work.data.image_shape
    note = (
        f"{work.source.description}: {images:,} images of {shape}, batch "
        f"{work.spec.batch_size}, {watch.steps // work.spec.epochs} steps an epoch, "
        f"on {device}, median of {len(result.genqueue)} rounds"
    )
    return Row(
        key=f"train_step_{work.key}",
        what=f"training step, {work.title}",
        unit="ms/step",
        genqueue=genqueue,
        baseline=baseline,
        baseline_is="a bare PyTorch loop over the same tensors and modules",
        target=ratio_at_most(limit),
        note=note,
        details={
            "epoch_end_ms": statistics.median(w.epoch_ends for w in result.watches)
            * 1000
            / work.spec.epochs,
            "callbacks_share": result.median_share("callbacks"),
            "data_wait_share": result.median_share("data_wait"),
            "steps_only_ratio": statistics.median(
                (w.total - w.epoch_ends) / w.steps for w in result.watches
            )
            * 1000
            / baseline,
        },
    )
