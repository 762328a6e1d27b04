"""Conv stacks shared by the conv models, for square images of 28, 32 or 64 pixels.

Every stride-2 layer halves the side (or doubles it, transposed) with 4x4 kernels,
as in DCGAN (Radford et al. 2016), between the image and a small base grid:
64 -> 32 -> 16 -> 8 -> 4, 32 -> 16 -> 8 -> 4 and, since 28 is no power of two,
28 -> 14 -> 7. Channels double with each halving, from `width` beside the image,
so the base grid holds width * 2**(depth - 1) channels.
"""

from __future__ import annotations

import math
from typing import Literal

from torch import nn

from shared.spec import CONV_SIZES_TEXT

BASE_SIDE = {28: 7, 32: 4, 64: 4}
SLOPE = 0.2

Norm = Literal["batch", "layer", "none"]


def conv_depth(image_shape: tuple[int, int, int]) -> int:
    """The number of stride-2 layers between the image and its base grid."""
    _, height, width = image_shape
    if height != width or height not in BASE_SIDE:
        raise ValueError(
            f"conv models need square images of {CONV_SIZES_TEXT} pixels, "
            f"got {height}x{width}"
        )
    return int(math.log2(height // BASE_SIDE[height]))


def base_side(image_shape: tuple[int, int, int]) -> int:
    """The side of the smallest grid: 7 for 28-pixel images, else 4."""
    conv_depth(image_shape)
    return BASE_SIDE[image_shape[1]]


def top_channels(image_shape: tuple[int, int, int], width: int) -> int:
    """The channels at the base grid, where the stacks meet their heads."""
    return width * 2 ** (conv_depth(image_shape) - 1)


def down_stack(
    image_shape: tuple[int, int, int], width: int, norm: Norm
) -> nn.Sequential:
    """Images [B, C, S, S] to features [B, top, base, base] with LeakyReLU 0.2.

    The first layer has no normalization: Radford et al. (2016, section 3) found
    that normalizing the discriminator's input layer made training unstable.
    """
    layers: list[nn.Module] = []
    in_channels, out_channels = image_shape[0], width
    for index in range(conv_depth(image_shape)):
        is_normed = index > 0 and norm != "none"
        # [B, in, s, s] -> [B, out, s/2, s/2]; a following norm makes a bias moot.
        layers.append(nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=not is_normed))
        if is_normed:
            layers.append(_norm(norm, out_channels))
        layers.append(nn.LeakyReLU(SLOPE))
        in_channels, out_channels = out_channels, out_channels * 2
    return nn.Sequential(*layers)


def up_stack(
    latent_dim: int, image_shape: tuple[int, int, int], width: int
) -> nn.Sequential:
    """z as [B, latent, 1, 1] to pre-activations [B, C, S, S].

    BatchNorm and ReLU follow every layer but the last (Radford et al. 2016,
    section 3); the caller picks the output activation.
    """
    channels = top_channels(image_shape, width)
    layers: list[nn.Module] = [
        # [B, latent, 1, 1] -> [B, top, base, base]
        nn.ConvTranspose2d(
            latent_dim, channels, base_side(image_shape), 1, 0, bias=False
        ),
        nn.BatchNorm2d(channels),
        nn.ReLU(),
    ]
    for _ in range(conv_depth(image_shape) - 1):
        # [B, ch, s, s] -> [B, ch/2, 2s, 2s]
        layers.append(nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False))
        layers += [nn.BatchNorm2d(channels // 2), nn.ReLU()]
        channels //= 2
    # [B, width, S/2, S/2] -> [B, C, S, S]
    layers.append(nn.ConvTranspose2d(channels, image_shape[0], 4, 2, 1))
    return nn.Sequential(*layers)


def head(image_shape: tuple[int, int, int], width: int, outputs: int) -> nn.Conv2d:
    """A conv over the whole base grid: [B, top, base, base] -> [B, outputs, 1, 1]."""
    side = base_side(image_shape)
    return nn.Conv2d(top_channels(image_shape, width), outputs, side, 1, 0)


def _norm(norm: Norm, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    # One group normalizes each sample over (C, H, W): layer normalization (Ba et
    # al. 2016), which keeps samples independent as a gradient penalty needs.
    return nn.GroupNorm(1, channels)
