"""The conditional GAN of Mirza and Osindero (2014), on the MLP GAN's networks.

"Conditional Generative Adversarial Nets": G(z, y) and D(x, y), each seeing a
learned label embedding beside its usual input (section 3.2). The loss is the
MLP GAN's, with both players told the class.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worker.models.base import cycle_labels, require_labels
from worker.models.gan import AdversarialPair, Discriminator, Generator


class ConditionalGenerator(Generator):
    """G(z, y): z with a label embedding [B, K] appended."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int
    ) -> None:
        super().__init__(image_shape, latent_dim, condition_dim=num_classes)
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, num_classes)  # [B, K]

    def inputs(self, z: Tensor, labels: Tensor | None) -> Tensor:
        code = self.embed(require_labels(labels, "cgan generator"))
        return torch.cat([z, code], dim=1)  # [B, latent + K]

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images [N, C, H, W] of the given classes; 0, 1, 2, ... when none given."""
        labels = cycle_labels(labels, z.shape[0], self.num_classes).to(z.device)
        return self(z, labels)


class ConditionalDiscriminator(Discriminator):
    """D(x, y): the flattened pixels with a label embedding [B, K] appended."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__(image_shape, condition_dim=num_classes)
        self.embed = nn.Embedding(num_classes, num_classes)  # [B, K]

    def inputs(self, flat: Tensor, labels: Tensor | None) -> Tensor:
        code = self.embed(require_labels(labels, "cgan discriminator"))
        return torch.cat([flat, code], dim=1)  # [B, C*H*W + K]


class CGAN(AdversarialPair):
    """The MLP GAN, conditioned on a class label in both networks."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int
    ) -> None:
        super().__init__(
            ConditionalGenerator(image_shape, latent_dim, num_classes),
            ConditionalDiscriminator(image_shape, num_classes),
        )
