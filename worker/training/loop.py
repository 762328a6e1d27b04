"""The training loop: epochs of shuffled minibatches, reported through callbacks.

It knows nothing of Celery or Redis; the task hands it a callbacks object and turns
what it hears into events. Each epoch ends with a checkpoint, and a run given one goes
on from it exactly: same shuffles, same noise, same optimizer state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

import torch
from torch import Tensor

from shared.errors import JobFailed
from shared.spec import TrainSpec
from worker.artifacts import MODEL_FILE, save_model
from worker.checkpoints import Checkpoint, save_checkpoint
from worker.datasets import ImageSet
from worker.images import make_grid_png
from worker.models import Model, build_model, generative_part
from worker.quality import QualityMeter, draw_samples
from worker.training.accel import Accelerator
from worker.training.checks import check_image_shape, class_count
from worker.training.placement import choose_placement, gather_pinned, size_in_bytes
from worker.training.steps import NonFiniteLoss, Steps, make_steps

logger = logging.getLogger(__name__)

# 64 samples fill an 8x8 grid; 32 originals and their reconstructions fill another.
FIXED_SAMPLES = 64
FIXED_ORIGINALS = 32


@dataclass(frozen=True)
class RunInfo:
    """What a run is about to do, told to the callbacks before the first step."""

    device: str
    dataset: str
    n_images: int
    image_shape: tuple[int, int, int]
    steps_per_epoch: int
    epochs: int


@dataclass(frozen=True)
class TrainResult:
    """How a run ended. model_path does not exist if no epoch finished."""

    epochs_completed: int
    steps: int
    stopped: bool
    model_path: Path
    epoch_means: list[dict[str, float]]


class TrainingCallbacks(Protocol):
    """What the loop tells its caller, and how the caller asks it to stop."""

    def on_start(self, info: RunInfo) -> None: ...

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None:
        """Called after each optimizer step; epoch and global step count from 1."""

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None:
        """Called with loss means and PNG grids after the model has been saved."""

    def should_stop(self) -> bool:
        """Asked before every step, so it must be cheap."""


class TrainingDiverged(JobFailed):
    """A loss became NaN or infinite; the optimizer did not take that step."""

    def __init__(self, step: int, name: str, value: float, lr: float) -> None:
        super().__init__(
            f"Training diverged at step {step}: {name} is {value}; "
            f"lower the learning rate (now {lr:g})."
        )
        self.step = step
        self.loss_name = name


def train(
    spec: TrainSpec,
    data: ImageSet,
    device: torch.device,
    callbacks: TrainingCallbacks,
    output_dir: Path,
    resume: Checkpoint | None = None,
    quality: Callable[[], QualityMeter | None] | None = None,
) -> TrainResult:
    """Train the spec's model on `data`, saving it to output_dir after each epoch.

    With `resume`, the run goes on after the checkpoint's epoch up to spec.epochs.
    With `quality`, which builds a meter when the first epoch ends (a run stopped
    before then never pays for one), each epoch's means carry the samples'
    Fréchet distance and the meter's real-vs-real floor.
    """
    trainer = _Trainer(spec, data, device, callbacks, output_dir)
    trainer.make_quality = quality
    if resume is not None:
        trainer.restore(resume)
    return trainer.run()


class _Trainer:
    """The state of one run: model, optimizers, fixed inputs and step count."""

    def __init__(
        self,
        spec: TrainSpec,
        data: ImageSet,
        device: torch.device,
        callbacks: TrainingCallbacks,
        output_dir: Path,
    ) -> None:
        self.spec, self.data, self.device = spec, data, device
        self.callbacks, self.output_dir = callbacks, output_dir
        check_image_shape(spec, data)
        num_classes = class_count(spec, data)
        self.accel = Accelerator.for_run(device, spec.model)
        self.steps = _make_steps(
            spec, data.image_shape, num_classes, self.accel, device
        )
        # One generator fixes both the sample noise and the shuffling order.
        self.shuffler = torch.Generator().manual_seed(spec.seed)
        self.fixed_z = torch.randn(
            FIXED_SAMPLES, spec.latent_dim, generator=self.shuffler
        ).to(device)
        # Labels travel with the images only for the models that read them.
        self._place_data(data.labels if num_classes else None)
        self.batch_size = min(spec.batch_size, len(data.images))
        self.steps_per_epoch = math.ceil(len(data.images) / self.batch_size)
        self.global_step = 0
        self.first_epoch = 1
        self.epoch_means: list[dict[str, float]] = []
        self.make_quality: Callable[[], QualityMeter | None] | None = None
        self._quality: QualityMeter | None = None

    def restore(self, checkpoint: Checkpoint) -> None:
        """Take up the state a checkpoint saved at the end of its epoch."""
        self.steps.model.load_state_dict(checkpoint.model)
        for name, optimizer in self.steps.optimizers().items():
            optimizer.load_state_dict(checkpoint.optimizers[name])
            # The saved state carries the old run's rate; a continuation that asks
            # for another one gets it.
            for group in optimizer.param_groups:
                group["lr"] = self.spec.lr
        self.steps.restore_counters(checkpoint.extra)
        torch.set_rng_state(checkpoint.rng["torch"])
        if self.device.type == "cuda" and "cuda" in checkpoint.rng:
            torch.cuda.set_rng_state(checkpoint.rng["cuda"], self.device)
        self.shuffler.set_state(checkpoint.rng["shuffler"])
        self.fixed_z = checkpoint.fixed_z.to(self.device)
        self.global_step = checkpoint.global_step
        self.first_epoch = checkpoint.epoch + 1
        self.epoch_means = list(checkpoint.epoch_means)

    def _place_data(self, labels: Tensor | None) -> None:
        """Put the images, labels and fixed originals where the steps read them.

        On CUDA the set goes to the GPU when it fits beside the model, which saves
        a copy a step, and stays in pinned host memory when it does not.
        """
        device = self.device
        size = size_in_bytes(self.data.images, labels)
        self.placement = choose_placement(device, size)
        self.images, self.labels = self.data.images, labels
        if self.placement == "device":
            self.images = self.images.to(device)
            self.labels = None if labels is None else labels.to(device)
        if self.placement == "pinned":
            self.images = self.images.pin_memory()
            self.labels = None if labels is None else labels.pin_memory()
        originals = self.data.images[:FIXED_ORIGINALS].to(device)
        self.fixed_x = self.accel.prepare_batch(originals)
        self.fixed_labels = (
            None if labels is None else labels[:FIXED_ORIGINALS].to(device)
        )

    def run(self) -> TrainResult:
        self._check_shapes()
        self.callbacks.on_start(self._info())
        for epoch in range(self.first_epoch, self.spec.epochs + 1):
            means = self._run_epoch(epoch)
            if means is None:
                return self._result(self.epoch_means, stopped=True)
            means.update(self._measure_quality())
            self.epoch_means.append(means)
            self._finish_epoch(epoch, means)
        return self._result(self.epoch_means, stopped=False)

    def _check_shapes(self) -> None:
        """One forward pass in eval mode, which leaves BatchNorm's statistics be.

        It runs on forked random state, so a resumed run draws the same noise as
        one that never stopped.
        """
        sample = self.accel.prepare_batch(self.images[:2].to(self.device))
        labels = None if self.labels is None else self.labels[:2].to(self.device)
        model = self.steps.model
        model.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=devices):
                self.steps.check_shapes(sample, labels)
        except RuntimeError as exc:
            raise JobFailed(
                f"The {self.spec.model} does not fit images of shape "
                f"{self.data.image_shape}: {exc}"
            ) from None
        finally:
            model.train()

    def _info(self) -> RunInfo:
        return RunInfo(
            device=str(self.device),
            dataset=self.data.description,
            n_images=len(self.data.images),
            image_shape=self.data.image_shape,
            steps_per_epoch=self.steps_per_epoch,
            epochs=self.spec.epochs,
        )

    def _run_epoch(self, epoch: int) -> dict[str, float] | None:
        """Run one epoch; return the mean of each loss, or None if asked to stop."""
        totals: dict[str, float] = {}
        for batch, labels in self._batches():
            if self.callbacks.should_stop():
                logger.debug("stopping before step %d", self.global_step + 1)
                return None
            self.global_step += 1
            losses = self._step(batch, labels)
            self.callbacks.on_step(epoch, self.global_step, losses)
            for name, value in losses.items():
                totals[name] = totals.get(name, 0.0) + value
        return {name: total / self.steps_per_epoch for name, total in totals.items()}

    def _batches(self) -> Iterator[tuple[Tensor, Tensor | None]]:
        """Yield image minibatches [B, C, H, W] and their labels in a fresh order.

        The last batch may be smaller. Labels are None for unconditional models.
        """
        count = len(self.images)
        order = torch.randperm(count, generator=self.shuffler).to(self.images.device)
        for start in range(0, count, self.batch_size):
            index = order[start : start + self.batch_size]
            batch = self._take(self.images, index)
            labels = None if self.labels is None else self._take(self.labels, index)
            yield self.accel.prepare_batch(batch), labels

    def _take(self, source: Tensor, index: Tensor) -> Tensor:
        """Rows `index` of the images or labels, on the run's device."""
        if self.placement == "pinned":
            # Gathered into pinned memory, the copy runs beside the last step.
            rows = gather_pinned(source, index)
            return rows.to(self.device, non_blocking=True)
        return source[index].to(self.device)

    def _step(self, batch: Tensor, labels: Tensor | None) -> dict[str, float]:
        try:
            return self.steps.step(batch, labels)
        except NonFiniteLoss as exc:
            raise TrainingDiverged(
                self.global_step, exc.name, exc.value, self.spec.lr
            ) from None

    def _finish_epoch(self, epoch: int, means: dict[str, float]) -> None:
        images = self._snapshot()
        model = self.steps.model
        save_model(model, self.spec, self.data.image_shape, self.output_dir)
        save_checkpoint(self.output_dir, self._checkpoint(epoch))
        logger.debug("epoch %d of %d done: %s", epoch, self.spec.epochs, means)
        self.callbacks.on_epoch_end(epoch, means, images)

    def _measure_quality(self) -> dict[str, float]:
        """The samples' distance from the real images, drawn in eval mode."""
        meter = self._quality_meter()
        if meter is None:
            return {}
        model = self.steps.model
        model.eval()
        try:
            generator = generative_part(cast(Model, model))
            count = meter.sample_count
            samples = draw_samples(generator, count, self.spec.seed, self.device)
        finally:
            model.train()
        return {meter.name: meter.score(samples), f"{meter.name}_floor": meter.floor}

    def _quality_meter(self) -> QualityMeter | None:
        """The meter, built on first use with the run's random state left as it was.

        Building it draws random numbers (its network's initial weights), which a
        resumed run would otherwise draw at a different epoch than the run it
        continues, and the two would part ways.
        """
        if self.make_quality is not None:
            cuda = [self.device] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=cuda):
                self._quality = self.make_quality()
            self.make_quality = None
        return self._quality

    def _checkpoint(self, epoch: int) -> Checkpoint:
        optimizers = {n: o.state_dict() for n, o in self.steps.optimizers().items()}
        rng = {"torch": torch.get_rng_state(), "shuffler": self.shuffler.get_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return Checkpoint(
            epoch=epoch,
            global_step=self.global_step,
            model=self.steps.model.state_dict(),
            optimizers=optimizers,
            rng=rng,
            fixed_z=self.fixed_z,
            epoch_means=list(self.epoch_means),
            extra=self.steps.counters(),
            spec=self.spec.to_json(),
        )

    def _snapshot(self) -> dict[str, bytes]:
        """Draw the fixed-noise grids in eval mode, without building a graph."""
        model = self.steps.model
        model.eval()
        try:
            with torch.no_grad():
                grids = self.steps.snapshot(
                    self.fixed_z, self.fixed_x, self.fixed_labels
                )
        finally:
            model.train()
        return {name: make_grid_png(grid) for name, grid in grids.items()}

    def _result(
        self, epoch_means: list[dict[str, float]], stopped: bool
    ) -> TrainResult:
        return TrainResult(
            epochs_completed=len(epoch_means),
            steps=self.global_step,
            stopped=stopped,
            model_path=self.output_dir / MODEL_FILE,
            epoch_means=epoch_means,
        )


def _make_steps(
    spec: TrainSpec,
    image_shape: tuple[int, int, int],
    num_classes: int,
    accel: Accelerator,
    device: torch.device,
) -> Steps:
    # Seeded here, just before the weights are drawn, so a spec gives the same model.
    torch.manual_seed(spec.seed)
    model = build_model(spec.model, image_shape, spec.latent_dim, num_classes)
    return make_steps(spec, accel.prepare_model(model.to(device)), accel)
