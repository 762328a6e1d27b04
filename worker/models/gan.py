"""The MLP generative adversarial network of Goodfellow et al. (2014).

"Generative Adversarial Nets", with a discriminator that returns logits.
`AdversarialPair` holds any generator and discriminator; DCGAN and the conditional
GAN reuse it with their own networks.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from worker.models.base import ImageGenerator

SLOPE = 0.2


class Generator(ImageGenerator):
    """G(z): a latent vector to an image in [0, 1], the range of the data.

    `condition_dim` widens the input for a conditional subclass that appends a
    label code to z.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, condition_dim: int = 0
    ) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim + condition_dim, 256),  # [B, 256]
            nn.LeakyReLU(SLOPE),
            nn.Linear(256, 512),  # [B, 512]
            nn.LeakyReLU(SLOPE),
            nn.Linear(512, math.prod(image_shape)),  # [B, C*H*W]
            nn.Sigmoid(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return images [B, C, H, W] in [0, 1] for z [B, latent]."""
        return self.net(self.inputs(z, labels)).view(-1, *self.image_shape)

    def inputs(self, z: Tensor, labels: Tensor | None) -> Tensor:
        """What the first layer sees; the unconditional generator ignores labels."""
        return z

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Generate images [N, C, H, W] in [0, 1] from z [N, latent]."""
        return self(z, labels)


class Discriminator(nn.Module):
    """D(x) as a logit; sigmoid(D(x)) is the probability that x is real."""

    def __init__(
        self, image_shape: tuple[int, int, int], condition_dim: int = 0
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(math.prod(image_shape) + condition_dim, 512),  # [B, 512]
            nn.LeakyReLU(SLOPE),
            nn.Linear(512, 256),  # [B, 256]
            nn.LeakyReLU(SLOPE),
            # No sigmoid: BCE-with-logits is stable where log(sigmoid) is not.
            nn.Linear(256, 1),  # [B, 1]
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return logits [B] for images [B, C, H, W] or flat [B, C*H*W]."""
        return self.net(self.inputs(x.flatten(1), labels)).squeeze(1)

    def inputs(self, flat: Tensor, labels: Tensor | None) -> Tensor:
        """What the first layer sees; the unconditional discriminator ignores labels."""
        return flat


class AdversarialPair(nn.Module):
    """A generator and a discriminator, saved and loaded as one state dict."""

    generator: ImageGenerator
    discriminator: nn.Module

    def __init__(self, generator: ImageGenerator, discriminator: nn.Module) -> None:
        super().__init__()
        self.latent_dim = generator.latent_dim
        self.num_classes = generator.num_classes
        self.generator = generator
        self.discriminator = discriminator

    def noise(self, batch: int, device: torch.device) -> Tensor:
        """Draw z ~ N(0, I) [batch, latent] from the global (seeded) generator."""
        return torch.randn(batch, self.latent_dim, device=device)


class GAN(AdversarialPair):
    """The MLP GAN: 256-512 generator, 512-256 discriminator."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__(Generator(image_shape, latent_dim), Discriminator(image_shape))
