"""The networks genqueue trains, one module per model kind."""

from __future__ import annotations

from typing import Protocol

from torch import Tensor

from shared.spec import ModelKind
from worker.models.gan import GAN
from worker.models.vae import VAE


class Generative(Protocol):
    """The part of a model that turns noise into images."""

    latent_dim: int
    image_shape: tuple[int, int, int]

    def sample(self, z: Tensor) -> Tensor: ...


def build_model(
    kind: ModelKind, image_shape: tuple[int, int, int], latent_dim: int
) -> VAE | GAN:
    """Build a freshly initialised model of the given kind."""
    if kind == "vae":
        return VAE(image_shape, latent_dim)
    return GAN(image_shape, latent_dim)


def generative_part(model: VAE | GAN) -> Generative:
    """Return the VAE's decoder or the GAN's generator."""
    return model.decoder if isinstance(model, VAE) else model.generator
