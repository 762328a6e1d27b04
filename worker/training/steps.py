"""The optimizer steps of each model family, chosen by the spec's model name.

The steps live beside the loop, not in it: steps_vae for the VAEs, steps_gan for
the GANs trained with the original loss, steps_wgan for WGAN-GP. All take image
batches [B, C, H, W] with labels [B] for conditional models, else None.
"""

from __future__ import annotations

from typing import Protocol

from torch import Tensor, nn
from torch.optim import Optimizer

from shared.spec import TrainSpec
from worker.models import Model
from worker.models.gan import AdversarialPair
from worker.models.vae import VariationalAutoencoder
from worker.training.accel import PLAIN, Accelerator
from worker.training.fetch import NonFiniteLoss, fetch_finite
from worker.training.grids import class_rows, interleave_rows
from worker.training.steps_gan import GanSteps
from worker.training.steps_vae import VaeSteps
from worker.training.steps_wgan import WganGpSteps

__all__ = [
    "GanSteps",
    "NonFiniteLoss",
    "Steps",
    "VaeSteps",
    "WganGpSteps",
    "class_rows",
    "fetch_finite",
    "interleave_rows",
    "make_steps",
]


class Steps(Protocol):
    """What the loop asks of a model family's steps."""

    @property
    def model(self) -> nn.Module: ...

    def step(self, x: Tensor, labels: Tensor | None = None) -> dict[str, float]:
        """Take one optimizer step on a batch; return its losses as floats."""

    def check_shapes(self, x: Tensor, labels: Tensor | None = None) -> None:
        """Run the forward passes once, so a bad shape fails before training."""

    def snapshot(
        self, z: Tensor, originals: Tensor, labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Grids [N, C, H, W] by name, from fixed noise and fixed originals."""

    def optimizers(self) -> dict[str, Optimizer]:
        """The optimizers by a stable name, for checkpoints."""

    def counters(self) -> dict[str, int]:
        """Step counters beyond the loop's own, for checkpoints."""

    def restore_counters(self, counters: dict[str, int]) -> None:
        """Set the counters a checkpoint saved."""


def make_steps(spec: TrainSpec, model: Model, accel: Accelerator = PLAIN) -> Steps:
    """The steps for the model the spec names, with the spec's settings."""
    if isinstance(model, VariationalAutoencoder):
        return VaeSteps(model, spec.lr, spec.kl_weight, accel)
    if isinstance(model, AdversarialPair):
        return GanSteps(model, spec.lr, accel)
    return WganGpSteps(model, spec.lr, spec.critic_steps, accel)
