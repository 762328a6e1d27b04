"""The networks genqueue trains, one module per model kind, chosen by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from torch import Tensor

from shared.spec import CONDITIONAL_MODELS, ModelKind
from worker.models.cgan import CGAN
from worker.models.conv_vae import ConvVAE
from worker.models.cvae import CVAE
from worker.models.dcgan import DCGAN
from worker.models.gan import GAN, AdversarialPair
from worker.models.vae import VAE, VariationalAutoencoder
from worker.models.wgan_gp import WGANGP

Model = VariationalAutoencoder | AdversarialPair | WGANGP
Shape = tuple[int, int, int]


class Generative(Protocol):
    """The part of a model that turns noise (and, if conditional, labels) into images.

    num_classes is 0 for unconditional models. A conditional one draws classes
    0, 1, 2, ... in turn when `sample` is given no labels.
    """

    latent_dim: int
    image_shape: tuple[int, int, int]
    num_classes: int

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor: ...


# Each takes (image_shape, latent_dim, num_classes); only conditional ones use K.
_BUILDERS: dict[str, Callable[[Shape, int, int], Model]] = {
    "vae": lambda shape, latent, _: VAE(shape, latent),
    "conv_vae": lambda shape, latent, _: ConvVAE(shape, latent),
    "cvae": CVAE,
    "gan": lambda shape, latent, _: GAN(shape, latent),
    "dcgan": lambda shape, latent, _: DCGAN(shape, latent),
    "wgan_gp": lambda shape, latent, _: WGANGP(shape, latent),
    "cgan": CGAN,
}


def build_model(
    kind: ModelKind, image_shape: Shape, latent_dim: int, num_classes: int = 0
) -> Model:
    """Build a freshly initialised model of the given kind.

    Raises ValueError for a conditional kind without classes, or for a conv kind
    and an image side other than 28, 32 or 64.
    """
    if kind in CONDITIONAL_MODELS and num_classes < 1:
        raise ValueError(f"{kind} needs num_classes >= 1, got {num_classes}")
    return _BUILDERS[kind](image_shape, latent_dim, num_classes)


def generative_part(model: Model) -> Generative:
    """Return a VAE's decoder or a GAN's generator."""
    if isinstance(model, VariationalAutoencoder):
        return model.decoder
    return model.generator
