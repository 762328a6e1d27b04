"""Where the real test data lives: MNIST's test split and a CIFAR-10 JPEG subset.

GENQUEUE_TEST_DATA names the folder holding mnist/ and cifar10-test-jpeg-subset/;
by default it is ../shared/data beside the repository. Tests skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Return the folder that holds the test data sets."""
    configured = os.environ.get("GENQUEUE_TEST_DATA")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def mnist_dir() -> Path:
    """Return the folder with MNIST's t10k files, or skip the calling test."""
    path = data_root() / "mnist"
    if not (path / "t10k-images-idx3-ubyte.gz").is_file():
        _skip("MNIST test files", path)
    return path


def cifar_dir() -> Path:
    """Return the CIFAR-10 JPEG subset's folder, or skip the calling test."""
    path = data_root() / "cifar10-test-jpeg-subset"
    if not path.is_dir():
        _skip("CIFAR-10 test images", path)
    return path


def _skip(what: str, path: Path) -> NoReturn:
    pytest.skip(
        f"{what} not found at {path}; set GENQUEUE_TEST_DATA to the folder "
        "holding mnist/ and cifar10-test-jpeg-subset/"
    )


def path_dataset() -> tuple[str, int, int]:
    """The dataset for end-to-end tests: (reference, images, pixels per side).

    MNIST's test split where it is present, else scikit-learn's bundled digits, so
    the whole path is exercised on a clone without the shared data.
    """
    path = data_root() / "mnist"
    if (path / "t10k-images-idx3-ubyte.gz").is_file():
        return str(path), 10_000, 28
    return "digits", 1797, 8
