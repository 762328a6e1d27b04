"""Sample grids as PNG bytes, drawn with numpy and Pillow (no torchvision)."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from torch import Tensor


def grid_size(
    count: int, height: int, width: int, nrow: int = 8, padding: int = 2
) -> tuple[int, int]:
    """Return the (width, height) in pixels of a grid of `count` images."""
    cols = min(nrow, count)
    rows = math.ceil(count / nrow)
    return cols * width + (cols + 1) * padding, rows * height + (rows + 1) * padding


def make_grid_png(images: Tensor, nrow: int = 8, padding: int = 2) -> bytes:
    """Lay images [N, C, H, W] in [0, 1] out in rows of `nrow` and encode a PNG.

    With cols = min(nrow, N) and rows = ceil(N / nrow), the picture is
    cols*W + (cols+1)*padding pixels wide and rows*H + (rows+1)*padding high;
    padding pixels are black. C=1 gives a grey PNG, C=3 an RGB one.
    """
    count, channels, height, width = images.shape
    if count == 0 or channels not in (1, 3):
        raise ValueError(f"Need [N, 1 or 3, H, W] images, got {tuple(images.shape)}.")

    # Round rather than truncate so 1.0 maps to 255 and 0.5 to 128.
    pixels = images.detach().float().clamp(0, 1).mul(255).round().byte().cpu().numpy()
    grid_w, grid_h = grid_size(count, height, width, nrow, padding)
    grid = np.zeros((grid_h, grid_w, channels), np.uint8)
    for i, image in enumerate(pixels):
        top = padding + (i // nrow) * (height + padding)
        left = padding + (i % nrow) * (width + padding)
        grid[top : top + height, left : left + width] = image.transpose(1, 2, 0)

    # Pillow picks the mode from the array: [H, W] is grey "L", [H, W, 3] is "RGB".
    picture = Image.fromarray(grid.squeeze(2) if channels == 1 else grid)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
