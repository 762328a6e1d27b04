"""What every generator and decoder shares: the shape it draws and how it is asked.

A network draws images from z [N, latent] and, when it is conditional, from class
labels [N] as well. Unconditional networks take the labels argument too and ignore
it, so the training steps can treat every model kind alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ImageGenerator(nn.Module):
    """A network from z (and labels, when num_classes > 0) to images."""

    image_shape: tuple[int, int, int]
    latent_dim: int
    num_classes: int = 0

    def sample(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images [N, C, H, W] in [0, 1] from z [N, latent]."""
        raise NotImplementedError


def cycle_labels(labels: Tensor | None, count: int, num_classes: int) -> Tensor:
    """The given labels, or 0, 1, ..., K-1, 0, 1, ... when a caller gave none.

    Lets a conditional generator answer `sample(z)` like any other, one class after
    another, for code that does not know the model is conditional.
    """
    if labels is not None:
        return labels
    return torch.arange(count) % num_classes


def require_labels(labels: Tensor | None, who: str) -> Tensor:
    """Return labels, or say that a conditional network was called without them."""
    if labels is None:
        raise ValueError(f"The {who} is conditional; pass class labels [N].")
    return labels


def one_hot(labels: Tensor, num_classes: int, like: Tensor) -> Tensor:
    """Labels [N] as one-hot rows [N, K] in the dtype and device of `like`."""
    return nn.functional.one_hot(labels, num_classes).to(like)
