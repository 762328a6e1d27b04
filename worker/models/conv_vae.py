"""A convolutional VAE: the loss of Kingma and Welling (2014) on conv networks.

The encoder is a strided-conv stack with separate conv heads for the mean and the
log-variance of q(z|x); the decoder mirrors it with transposed convs, as in
DCGAN's generator, and returns Bernoulli logits, so the loss is the MLP VAE's.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worker.models.base import ImageGenerator
from worker.models.conv import down_stack, head, up_stack
from worker.models.vae import VariationalAutoencoder

# Half of DCGAN's width: a VAE has no adversary to outrun, and this halves the
# CPU time of a step.
WIDTH = 32


class ConvEncoder(nn.Module):
    """q(z|x): shared strided convs, then one conv head each for mu and logvar."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int = WIDTH
    ) -> None:
        super().__init__()
        self.features = down_stack(image_shape, width, "batch")  # [B, top, b, b]
        self.mu = head(image_shape, width, latent_dim)  # [B, latent, 1, 1]
        self.logvar = head(image_shape, width, latent_dim)  # [B, latent, 1, 1]

    def forward(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Return mu and logvar [B, latent] for images [B, C, S, S] in [0, 1]."""
        h = self.features(x)
        return self.mu(h).flatten(1), self.logvar(h).flatten(1)


class ConvDecoder(ImageGenerator):
    """p(x|z): transposed convs from z [B, latent] to pixel logits [B, C, S, S]."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int = WIDTH
    ) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.net = up_stack(latent_dim, image_shape, width)  # [B, C, S, S]

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return pixel logits [B, C, S, S] for z [B, latent]."""
        return self.net(z[:, :, None, None])

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Decode z [N, latent] into images [N, C, S, S] in [0, 1]."""
        return torch.sigmoid(self(z))


class ConvVAE(VariationalAutoencoder):
    """The conv encoder and decoder joined by the reparameterization trick."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__(
            ConvEncoder(image_shape, latent_dim), ConvDecoder(image_shape, latent_dim)
        )
