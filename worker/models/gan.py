"""The MLP generative adversarial network of Goodfellow et al. (2014).

"Generative Adversarial Nets", with a discriminator that returns logits.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

SLOPE = 0.2


class Generator(nn.Module):
    """G(z): a latent vector to an image in [0, 1], the range of the data."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 256),  # [B, 256]
            nn.LeakyReLU(SLOPE),
            nn.Linear(256, 512),  # [B, 512]
            nn.LeakyReLU(SLOPE),
            nn.Linear(512, math.prod(image_shape)),  # [B, C*H*W]
            nn.Sigmoid(),
        )

    def forward(self, z: Tensor) -> Tensor:
        """Return flat images [B, C*H*W] for z [B, latent]."""
        return self.net(z)

    def sample(self, z: Tensor) -> Tensor:
        """Generate images [N, C, H, W] in [0, 1] from z [N, latent]."""
        return self(z).view(-1, *self.image_shape)


class Discriminator(nn.Module):
    """D(x) as a logit; sigmoid(D(x)) is the probability that x is real."""

    def __init__(self, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(math.prod(image_shape), 512),  # [B, 512]
            nn.LeakyReLU(SLOPE),
            nn.Linear(512, 256),  # [B, 256]
            nn.LeakyReLU(SLOPE),
            # No sigmoid: BCE-with-logits is stable where log(sigmoid) is not.
            nn.Linear(256, 1),  # [B, 1]
        )

    def forward(self, x: Tensor) -> Tensor:
        """Return logits [B] for flat images x [B, C*H*W]."""
        return self.net(x).squeeze(1)


class GAN(nn.Module):
    """A generator and a discriminator, saved and loaded as one state dict."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.generator = Generator(image_shape, latent_dim)
        self.discriminator = Discriminator(image_shape)

    def noise(self, batch: int, device: torch.device) -> Tensor:
        """Draw z ~ N(0, I) [batch, latent] from the global (seeded) generator."""
        return torch.randn(batch, self.latent_dim, device=device)
