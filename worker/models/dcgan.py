"""The deep convolutional GAN of Radford et al. (2016).

"Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks": a transposed-conv generator with BatchNorm and ReLU ending
in Tanh, a strided-conv discriminator with BatchNorm and LeakyReLU 0.2, trained
with the original GAN loss.

Pixels stay in [0, 1] outside the networks, as for every other model here, so
steps, sample grids and saved generators share one convention. Inside, both
networks work in the paper's [-1, 1]: the generator's Tanh output is shifted to
[0, 1] and the discriminator shifts its input back before the first conv.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worker.models.base import ImageGenerator
from worker.models.conv import down_stack, head, up_stack
from worker.models.gan import AdversarialPair

# The paper's 64 filters next to the image (ngf = ndf = 64).
WIDTH = 64
INIT_STD = 0.02


class ConvGenerator(ImageGenerator):
    """G(z): transposed convs from z [B, latent] to images [B, C, S, S] in [0, 1]."""

    def __init__(
        self, image_shape: tuple[int, int, int], latent_dim: int, width: int = WIDTH
    ) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.latent_dim = latent_dim
        self.net = up_stack(latent_dim, image_shape, width)  # [B, C, S, S]

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return images [B, C, S, S] in [0, 1] for z [B, latent]."""
        pre = self.net(z[:, :, None, None])
        return (torch.tanh(pre) + 1) / 2

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Generate images [N, C, S, S] in [0, 1] from z [N, latent]."""
        return self(z)


class ConvDiscriminator(nn.Module):
    """D(x) as a logit, from strided convs with BatchNorm after the first layer."""

    def __init__(self, image_shape: tuple[int, int, int], width: int = WIDTH) -> None:
        super().__init__()
        self.features = down_stack(image_shape, width, "batch")  # [B, top, b, b]
        self.head = head(image_shape, width, 1)  # [B, 1, 1, 1]

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return logits [B] for images [B, C, S, S] in [0, 1]."""
        return self.head(self.features(x * 2 - 1)).flatten()


class DCGAN(AdversarialPair):
    """A conv generator and discriminator, initialized as the paper prescribes."""

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__(
            ConvGenerator(image_shape, latent_dim), ConvDiscriminator(image_shape)
        )
        init_dcgan_weights(self)


def init_dcgan_weights(module: nn.Module) -> None:
    """Draw conv weights from N(0, 0.02), BatchNorm scales from N(1, 0.02).

    Radford et al. (2016), section 4, draw every weight from a zero-mean normal
    with standard deviation 0.02; BatchNorm scales centre on 1 so that the layers
    start close to the identity normalization.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, INIT_STD)
            nn.init.zeros_(layer.bias)
