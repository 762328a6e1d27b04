"""One optimizer step of a VAE: the MLP, conv and conditional ones alike."""

from __future__ import annotations

import torch
from torch import Tensor

from worker.models.vae import VariationalAutoencoder, vae_loss
from worker.training.accel import PLAIN, Accelerator
from worker.training.fetch import fetch_finite
from worker.training.grids import class_rows, interleave_rows


class VaeSteps:
    """Adam on the negative ELBO of a VAE, with the KL term weighted by beta."""

    def __init__(
        self,
        vae: VariationalAutoencoder,
        lr: float,
        kl_weight: float = 1.0,
        accel: Accelerator = PLAIN,
    ) -> None:
        self.model = vae
        self.kl_weight = kl_weight
        self.accel = accel
        self.optimizer = torch.optim.Adam(vae.parameters(), lr=lr)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": self.optimizer}

    def counters(self) -> dict[str, int]:
        return {}

    def restore_counters(self, counters: dict[str, int]) -> None:
        """The VAE keeps no counters of its own."""

    def step(self, x: Tensor, labels: Tensor | None = None) -> dict[str, float]:
        """Minimize reconstruction + kl_weight * KL on images x [B, C, H, W].

        Kingma and Welling (2014), eq. 10, with the beta of Higgins et al. (2017).
        """
        with self.accel.autocast():
            logits, mu, logvar = self.model(x, labels)
        # The loss itself in float32: a sum over every pixel is too coarse in bf16.
        losses = vae_loss(
            logits.float(), x.float(), mu.float(), logvar.float(), self.kl_weight
        )
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        values = fetch_finite(losses)
        self.optimizer.step()
        return values

    def check_shapes(self, x: Tensor, labels: Tensor | None = None) -> None:
        """Run one forward pass so a bad shape fails before the first step."""
        self.model(x, labels)

    def snapshot(
        self, z: Tensor, originals: Tensor, labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Samples from fixed z; fixed originals interleaved with reconstructions.

        A conditional VAE draws one row per class and reconstructs each original
        with its own label.
        """
        grid_z, grid_labels = class_rows(z, self.model.num_classes)
        reconstructions = self.model.reconstruct(originals, labels)
        return {
            "samples": self.model.decoder.sample(grid_z, grid_labels),
            "reconstructions": interleave_rows(originals, reconstructions),
        }
