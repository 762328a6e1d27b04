"""Generated images as PNG files, each written whole or not at all."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from shared.files import write_atomically
from worker.images import make_grid_png


def write_pictures(output_dir: Path, pictures: dict[str, Tensor]) -> list[Path]:
    """Write each image [C, H, W] as a PNG named by its key; return the paths.

    Keys must be bare file names: nothing is written outside output_dir.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, image in pictures.items():
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"'{name}' is not a bare file name; pass names only.")
        png = make_grid_png(image[None], nrow=1, padding=0)
        paths.append(write_atomically(output_dir / name, png))
    return paths
