"""The MLP variational autoencoder of Kingma and Welling (2014), and its loss.

"Auto-Encoding Variational Bayes", with a Bernoulli decoder for pixels in [0, 1].
`VariationalAutoencoder` joins any encoder and decoder; the conv and conditional
VAEs reuse it with their own networks.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from worker.models.base import ImageGenerator

HIDDEN = 400


class Encoder(nn.Module):
    """q(z|x): a shared hidden layer, then separate heads for mean and log-variance.

    `condition_dim` widens the input for a conditional subclass that appends a
    label code to the flattened pixels.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, condition_dim: int = 0
    ) -> None:
        super().__init__()
        inputs = math.prod(image_shape) + condition_dim
        self.hidden = nn.Sequential(nn.Linear(inputs, HIDDEN), nn.ReLU())  # [B, 400]
        self.mu = nn.Linear(HIDDEN, latent_dim)  # [B, latent]
        self.logvar = nn.Linear(HIDDEN, latent_dim)  # [B, latent]

    def forward(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Return mu and logvar [B, latent] for images [B, C, H, W] or flat [B, CHW]."""
        h = self.hidden(self.inputs(x.flatten(1), labels))
        return self.mu(h), self.logvar(h)

    def inputs(self, flat: Tensor, labels: Tensor | None) -> Tensor:
        """What the first layer sees; the unconditional encoder ignores labels."""
        return flat


class Decoder(ImageGenerator):
    """p(x|z): pixel logits from a latent vector; `sample` gives images."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, condition_dim: int = 0
    ) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim + condition_dim, HIDDEN),  # [B, 400]
            nn.ReLU(),
            nn.Linear(HIDDEN, math.prod(image_shape)),  # [B, C*H*W] logits
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return pixel logits [B, C, H, W] for z [B, latent]."""
        return self.net(self.inputs(z, labels)).view(-1, *self.image_shape)

    def inputs(self, z: Tensor, labels: Tensor | None) -> Tensor:
        """What the first layer sees; the unconditional decoder ignores labels."""
        return z

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Decode z [N, latent] into images [N, C, H, W] in [0, 1]."""
        return torch.sigmoid(self(z, labels))


class VariationalAutoencoder(nn.Module):
    """Any encoder and decoder joined by the reparameterization trick."""

    encoder: nn.Module
    decoder: ImageGenerator

    def __init__(self, encoder: nn.Module, decoder: ImageGenerator) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.num_classes = decoder.num_classes

    def forward(
        self, x: Tensor, labels: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Return pixel logits [B, C, H, W], mu and logvar [B, latent] for x."""
        mu, logvar = self.encoder(x, labels)
        # z = mu + sigma * eps keeps the sampling step differentiable in mu and sigma.
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z, labels), mu, logvar

    def reconstruct(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Decode the posterior mean of x, so the picture does not flicker."""
        mu, _ = self.encoder(x, labels)
        return self.decoder.sample(mu, labels)


class VAE(VariationalAutoencoder):
    """The MLP VAE: 784-400-latent for MNIST."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__(
            Encoder(image_shape, latent_dim), Decoder(image_shape, latent_dim)
        )


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    """Return KL(q(z|x) || N(0, I)) per sample [B], in closed form.

    0.5 * sum(mu^2 + exp(logvar) - 1 - logvar) (Kingma and Welling 2014, appendix B).
    """
    # exp(v) - 1 - v is >= 0 in exact arithmetic; expm1 keeps it accurate near 0 and
    # the clamp removes the rounding that could still push a term below zero.
    per_dim = mu.pow(2) + (torch.expm1(logvar) - logvar).clamp(min=0.0)
    return 0.5 * per_dim.sum(dim=1)


def vae_loss(
    logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor, kl_weight: float = 1.0
) -> dict[str, Tensor]:
    """The negative ELBO, averaged over the batch (Kingma and Welling 2014, eq. 10).

    The reconstruction term is the Bernoulli negative log-likelihood summed over
    pixels; `loss` is reconstruction plus kl_weight times KL, the beta-VAE objective
    (Higgins et al. 2017, eq. 4), which is the ELBO itself at kl_weight 1.
    """
    batch = x.shape[0]
    reconstruction = (
        F.binary_cross_entropy_with_logits(
            logits.flatten(1), x.flatten(1), reduction="sum"
        )
        / batch
    )
    kl = kl_divergence(mu, logvar).mean()
    loss = reconstruction + kl_weight * kl
    return {"loss": loss, "reconstruction": reconstruction, "kl": kl}
