"""The data the benchmarks train on and read: MNIST's test split and the CIFAR subset.

Looked up as the tests look them up (GENQUEUE_TEST_DATA, else ../shared/data beside
the repository). Where a set is missing, scikit-learn's bundled digits stand in,
and the row's note says so.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
MNIST_FILE = "t10k-images-idx3-ubyte.gz"


@dataclass(frozen=True)
class Source:
    """A dataset reference a spec can name, and what it is, for the notes."""

    reference: str
    description: str
    is_fallback: bool


def data_root() -> Path:
    configured = os.environ.get("GENQUEUE_TEST_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def mnist() -> Source:
    folder = data_root() / "mnist"
    if (folder / MNIST_FILE).is_file():
        return Source(str(folder), "MNIST test images (IDX)", False)
    return Source(
        "digits",
        f"scikit-learn digits, as no MNIST was found at {folder}",
        True,
    )


def mnist_file(scratch: Path) -> Source:
    """MNIST's IDX image file, else the digits written out as one."""
    path = data_root() / "mnist" / MNIST_FILE
    if path.is_file():
        return Source(str(path), "MNIST test images (IDX)", False)
    target = scratch / "digits-idx3-ubyte.gz"
    _write_digits_as_idx(target)
    return Source(
        str(target),
        f"scikit-learn digits as an IDX file, as no MNIST was found at {path}",
        True,
    )


def _write_digits_as_idx(path: Path) -> None:
    from sklearn.datasets import load_digits

    pixels = (load_digits().images * 255 / 16).astype(np.uint8)
    count, rows, cols = pixels.shape
    header = b"".join(n.to_bytes(4, "big") for n in (2051, count, rows, cols))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + pixels.tobytes()))


def cifar_folder(scratch: Path) -> Source:
    """The CIFAR-10 JPEG subset, else the digits written out as 32x32 JPEGs."""
    folder = data_root() / "cifar10-test-jpeg-subset"
    if folder.is_dir():
        return Source(str(folder), "CIFAR-10 JPEG subset", False)
    target = scratch / "digits-jpeg"
    _write_digits_as_jpeg(target)
    return Source(
        str(target),
        f"scikit-learn digits as 32x32 JPEGs, as no CIFAR subset was found at {folder}",
        True,
    )


def _write_digits_as_jpeg(folder: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    for index, (pixels, label) in enumerate(
        zip(digits.images, digits.target, strict=True)
    ):
        grey = (pixels * 255 / 16).astype(np.uint8)
        picture = Image.fromarray(grey).resize((32, 32)).convert("RGB")
        path = folder / str(label) / f"{index:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path, quality=90)
