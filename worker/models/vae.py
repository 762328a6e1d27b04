"""The MLP variational autoencoder of Kingma and Welling (2014).

"Auto-Encoding Variational Bayes", with a Bernoulli decoder for pixels in [0, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

HIDDEN = 400


class Encoder(nn.Module):
    """q(z|x): a shared hidden layer, then separate heads for mean and log-variance."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        pixels = math.prod(image_shape)
        self.hidden = nn.Sequential(nn.Linear(pixels, HIDDEN), nn.ReLU())  # [B, 400]
        self.mu = nn.Linear(HIDDEN, latent_dim)  # [B, latent]
        self.logvar = nn.Linear(HIDDEN, latent_dim)  # [B, latent]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.hidden(x)
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    """p(x|z): pixel logits from a latent vector; `sample` gives images."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, HIDDEN),  # [B, 400]
            nn.ReLU(),
            nn.Linear(HIDDEN, math.prod(image_shape)),  # [B, C*H*W] logits
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)

    def sample(self, z: Tensor) -> Tensor:
        """Decode z [N, latent] into images [N, C, H, W] in [0, 1]."""
        return torch.sigmoid(self(z)).view(-1, *self.image_shape)


class VAE(nn.Module):
    """Encoder and decoder joined by the reparameterization trick."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.encoder = Encoder(image_shape, latent_dim)
        self.decoder = Decoder(image_shape, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return pixel logits [B, C*H*W], mu and logvar [B, latent] for flat x."""
        mu, logvar = self.encoder(x)
        # z = mu + sigma * eps keeps the sampling step differentiable in mu and sigma.
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z), mu, logvar

    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the posterior mean of flat x, so the picture does not flicker."""
        mu, _ = self.encoder(x)
        return self.decoder.sample(mu)


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """Return KL(q(z|x) || N(0, I)) per sample [B], in closed form.

    0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) (Kingma and Welling 2014, appendix B).
    """
    # exp(v) - 1 - v is >= 0 in exact arithmetic; expm1 keeps it accurate near 0 and
    # the clamp removes the rounding that could still push a term below zero.
    per_dim = mu.pow(2) + (torch.expm1(logvar) - logvar).clamp(min=0.0)
    return 0.5 * per_dim.sum(dim=1)


def vae_loss(
    logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor
) -> dict[str, Tensor]:
    """The negative ELBO, averaged over the batch (Kingma and Welling 2014, eq. 10).

    The reconstruction term is the Bernoulli negative log-likelihood summed over
    pixels; `loss` is reconstruction plus KL.
    """
    batch = x.shape[0]
    reconstruction = (
        F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / batch
    )
    kl = kl_divergence(mu, logvar).mean()
    return {"loss": reconstruction + kl, "reconstruction": reconstruction, "kl": kl}
