"""How the fixed sample and reconstruction grids are laid out, 8 images a row."""

from __future__ import annotations

import math

import torch
from torch import Tensor

ROW = 8


def class_rows(z: Tensor, num_classes: int) -> tuple[Tensor, Tensor | None]:
    """Noise and labels for a grid with one row of 8 per class, or z unchanged.

    Every row reuses the same 8 noise vectors, so a column shows one z drawn as
    each class in turn: what changes down a column is the label alone.
    """
    if num_classes == 0:
        return z, None
    row = z[:ROW]  # [8, latent]
    labels = torch.arange(num_classes, device=z.device).repeat_interleave(ROW)
    return row.repeat(num_classes, 1), labels  # [K*8, latent], [K*8]


def interleave_rows(
    originals: Tensor, reconstructions: Tensor, row: int = ROW
) -> Tensor:
    """Stack each row of `row` originals above its row of reconstructions.

    Both are padded with black images to a whole number of rows first, so a grid
    with nrow=row keeps every pair in the same column.
    """
    count = originals.shape[0]
    padded = math.ceil(count / row) * row
    pairs = torch.zeros(2, padded, *originals.shape[1:], device=originals.device)
    pairs[0, :count] = originals
    pairs[1, :count] = reconstructions
    # [2, rows, row, C, H, W] -> [rows, 2, row, C, H, W]: originals then their copies.
    stacked = pairs.view(2, padded // row, row, *originals.shape[1:]).transpose(0, 1)
    return stacked.reshape(-1, *originals.shape[1:])
