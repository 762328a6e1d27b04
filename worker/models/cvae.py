"""The conditional VAE of Sohn et al. (2015), on the MLP VAE's networks.

"Learning Structured Output Representation using Deep Conditional Generative
Models": encoder q(z|x, y) and decoder p(x|z, y), each seeing a one-hot label
beside its usual input. The prior stays N(0, I) rather than the paper's learned
p(z|y), so the loss is the MLP VAE's, unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor

from worker.models.base import cycle_labels, one_hot, require_labels
from worker.models.vae import Decoder, Encoder, VariationalAutoencoder


class ConditionalEncoder(Encoder):
    """q(z|x, y): the flattened pixels with a one-hot label appended."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int
    ) -> None:
        super().__init__(image_shape, latent_dim, condition_dim=num_classes)
        self.num_classes = num_classes

    def inputs(self, flat: Tensor, labels: Tensor | None) -> Tensor:
        code = one_hot(require_labels(labels, "cvae encoder"), self.num_classes, flat)
        return torch.cat([flat, code], dim=1)  # [B, C*H*W + K]


class ConditionalDecoder(Decoder):
    """p(x|z, y): z with a one-hot label appended."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int
    ) -> None:
        super().__init__(image_shape, latent_dim, condition_dim=num_classes)
        self.num_classes = num_classes

    def inputs(self, z: Tensor, labels: Tensor | None) -> Tensor:
        code = one_hot(require_labels(labels, "cvae decoder"), self.num_classes, z)
        return torch.cat([z, code], dim=1)  # [B, latent + K]

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images [N, C, H, W] of the given classes; 0, 1, 2, ... when none given."""
        labels = cycle_labels(labels, z.shape[0], self.num_classes).to(z.device)
        return super().sample(z, labels)


class CVAE(VariationalAutoencoder):
    """The MLP VAE, conditioned on a class label in both networks."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int
    ) -> None:
        super().__init__(
            ConditionalEncoder(image_shape, latent_dim, num_classes),
            ConditionalDecoder(image_shape, latent_dim, num_classes),
        )
