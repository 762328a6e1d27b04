"""Sample grids are PNGs of the documented size, grey or RGB."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from worker.images import make_grid_png


def decode(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png))


@pytest.mark.parametrize(
    ("count", "nrow", "padding", "size"),
    [(64, 8, 2, (8 * 28 + 9 * 2, 8 * 28 + 9 * 2)), (10, 8, 2, (242, 2 * 28 + 3 * 2))],
)
def test_grid_size_follows_the_formula(
    count: int, nrow: int, padding: int, size: tuple[int, int]
) -> None:
    png = make_grid_png(torch.rand(count, 1, 28, 28), nrow=nrow, padding=padding)

    assert decode(png).size == size


def test_fewer_images_than_a_row_make_a_narrower_grid() -> None:
    png = make_grid_png(torch.rand(3, 3, 32, 32), nrow=8, padding=1)

    assert decode(png).size == (3 * 32 + 4, 32 + 2)


def test_grey_images_give_grey_png_and_rgb_give_rgb() -> None:
    grey = decode(make_grid_png(torch.rand(4, 1, 8, 8)))
    colour = decode(make_grid_png(torch.rand(4, 3, 8, 8)))

    assert grey.mode == "L"
    assert colour.mode == "RGB"


def test_pixels_land_in_place_with_black_padding() -> None:
    images = torch.zeros(2, 3, 4, 4)
    images[1, 0] = 1.0

    picture = decode(make_grid_png(images, nrow=2, padding=1))

    assert picture.getpixel((0, 0)) == (0, 0, 0)
    assert picture.getpixel((1 + 4 + 1 + 1, 1)) == (255, 0, 0)
    assert picture.getpixel((1, 1)) == (0, 0, 0)


def test_grid_refuses_two_channel_images() -> None:
    with pytest.raises(ValueError, match="1 or 3"):
        make_grid_png(torch.rand(2, 2, 4, 4))
