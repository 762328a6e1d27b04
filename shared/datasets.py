"""Which kind of dataset a reference names, decided without reading pixels.

The client calls `detect_dataset` to refuse a bad path before it submits a job; the
worker calls it again and then reads the pixels (see `worker.datasets`). Nothing here
imports torch or numpy, so the check is fast.

A name ('mnist', 'fashion-mnist', 'cifar10') wins over a folder of that name in the
current directory; give './mnist' for the folder. Named datasets are downloaded by
the worker (see `shared.downloads`), never here.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shared.downloads import CIFAR_FOLDER, NAMED, named_dataset
from shared.errors import DatasetError

DatasetKind = Literal["digits", "named", "idx", "npz", "cifar10-bin", "folder"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
IDX_SUFFIXES = ("idx3-ubyte", "idx3-ubyte.gz")
# Big-endian magic of an IDX file of unsigned bytes in three dimensions (N, H, W).
IDX3_MAGIC = b"\x00\x00\x08\x03"
GZIP_MAGIC = b"\x1f\x8b"
# Keys searched in a .npz, in order; the label key paired with an image key is
# tried first, then the others.
NPZ_IMAGE_KEYS = ("images", "x", "x_train", "arr_0")
NPZ_LABEL_KEYS = {"images": "labels", "x": "y", "x_train": "y_train"}
CIFAR_TRAIN_GLOB = "data_batch_*.bin"
CIFAR_TEST_NAME = "test_batch.bin"
# Files an operating system or a copy tool leaves beside images; never data.
SYSTEM_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})

_EXPECTED = (
    "give 'digits', 'mnist', 'fashion-mnist' or 'cifar10', an MNIST IDX file or a "
    "folder holding one, a NumPy .npz file, a CIFAR-10 binary folder "
    "(cifar-10-batches-bin), or a folder of PNG/JPEG images."
)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset reference that has been checked to exist and be of a known kind."""

    kind: DatasetKind
    path: Path | None
    description: str
    name: str = ""  # for 'digits' and named datasets, which have no path

    def canonical(self) -> str:
        """Return the form stored in a spec: a dataset's name or the absolute path."""
        return self.name if self.path is None else str(self.path)


def detect_dataset(ref: str) -> DatasetRef:
    """Say which kind of dataset `ref` names, or raise DatasetError saying why not."""
    if ref.strip().lower() == "digits":
        description = "scikit-learn digits (1,797 images, 8x8)"
        return DatasetRef("digits", None, description, name="digits")
    named = named_dataset(ref)
    if named is not None:
        return DatasetRef("named", None, named.describe(), name=named.key)

    path = Path(ref).expanduser().resolve()
    if not path.exists():
        raise DatasetError(f"Dataset path '{path}' does not exist; {_EXPECTED}")
    if path.is_dir():
        try:
            return _detect_directory(path)
        except PermissionError as exc:
            raise DatasetError(
                f"Cannot read dataset folder '{path}' ({exc.strerror}); "
                "check its permissions."
            ) from None
    return _detect_file(path)


def check_worker_reference(ref: str) -> None:
    """Refuse a reference that a worker should not resolve as it stands.

    Clients send a name or an absolute path they have resolved; anything else was
    written by hand, and a relative path would be looked for in whatever folder the
    worker was started in. Does not limit which absolute paths a worker may read.
    """
    if ref.strip().lower() == "digits" or named_dataset(ref) is not None:
        return
    if "\x00" in ref:
        raise DatasetError(
            f"Dataset path {ref!r} holds a NUL character, which no path can; "
            "give the path as the worker's file system spells it."
        )
    path = Path(ref).expanduser()
    if not path.is_absolute():
        raise DatasetError(
            f"Dataset '{ref}' is a relative path, which the worker would look for "
            "in whatever folder it was started in; give the absolute path on the "
            f"worker, or a name: digits, {', '.join(NAMED)}."
        )
    if ".." in path.parts:
        raise DatasetError(
            f"Dataset path '{ref}' steps up with '..'; give the path it means, "
            f"'{os.path.normpath(path)}', without it."
        )


def _detect_file(path: Path) -> DatasetRef:
    if path.suffix.lower() == ".npz":
        keys = npz_image_keys(path)
        return DatasetRef("npz", path, f"NumPy arrays {path} ({', '.join(keys)})")
    if path.name == CIFAR_TEST_NAME or path.match(CIFAR_TRAIN_GLOB):
        return DatasetRef("cifar10-bin", path, f"CIFAR-10 binary batch {path}")
    if is_idx_images_file(path):
        return DatasetRef("idx", path, f"MNIST IDX file {path}")
    raise DatasetError(
        f"Dataset file '{path}' is not an MNIST IDX image file, a .npz file or a "
        f"CIFAR-10 batch; {_EXPECTED}"
    )


def _detect_directory(path: Path) -> DatasetRef:
    candidates = find_idx_files(path)
    if candidates:
        chosen = candidates[0]
        description = f"MNIST IDX file {chosen}"
        if len(candidates) > 1:
            others = ", ".join(p.name for p in candidates[1:])
            description += f" (chosen over {others})"
        return DatasetRef("idx", chosen, description)

    cifar = path / CIFAR_FOLDER if (path / CIFAR_FOLDER).is_dir() else path
    batches = find_cifar_batches(cifar)
    if batches:
        names = ", ".join(b.name for b in batches)
        return DatasetRef("cifar10-bin", cifar, f"CIFAR-10 binary {cifar} ({names})")

    if next(iter_image_files(path), None) is not None:
        return DatasetRef("folder", path, f"image folder {path}")
    raise DatasetError(
        f"Dataset folder '{path}' holds no PNG/JPEG images, no IDX files and no "
        "CIFAR-10 batches; " + _EXPECTED
    )


def find_cifar_batches(directory: Path) -> list[Path]:
    """List the CIFAR-10 binary batches to read: the training ones, else the test one.

    The five training batches are what 'CIFAR-10' means for training; the test
    batch is used alone only when no training batch is there.
    """
    train = sorted(directory.glob(CIFAR_TRAIN_GLOB))
    test = directory / CIFAR_TEST_NAME
    return train or ([test] if test.is_file() else [])


def npz_image_keys(path: Path) -> list[str]:
    """Return the image keys a .npz holds, in the order tried, from its zip index."""
    try:
        with zipfile.ZipFile(path) as archive:
            keys = [n.removesuffix(".npy") for n in archive.namelist()]
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(
            f"'{path}' is not a readable NumPy .npz file ({exc}); save it with "
            "numpy.savez or numpy.savez_compressed."
        ) from None
    found = [key for key in NPZ_IMAGE_KEYS if key in keys]
    if found:
        return found
    raise DatasetError(
        f"'{path}' holds no image array: found keys {', '.join(keys) or 'none'}; "
        f"name the images {' or '.join(NPZ_IMAGE_KEYS)}."
    )


def find_idx_files(directory: Path) -> list[Path]:
    """List the IDX image files directly in `directory`, the preferred one first.

    A training split is preferred over a test split ('train' before 't10k'), then
    names sort alphabetically, so the choice never depends on the file system.
    """
    found = [
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.endswith(IDX_SUFFIXES)
    ]
    return sorted(found, key=_idx_preference)


def _idx_preference(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    rank = 0 if "train" in name else 1 if "t10k" in name else 2
    return rank, name


def is_idx_images_file(path: Path) -> bool:
    """Tell an IDX image file by its name or, failing that, by its magic number."""
    if path.name.endswith(IDX_SUFFIXES):
        return True
    try:
        return read_head(path, 4) == IDX3_MAGIC
    except (OSError, EOFError):
        return False


def read_head(path: Path, size: int) -> bytes:
    """Read the first `size` bytes of a file, through gunzip if it is gzip data."""
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if is_gzip else open
    with opener(path, "rb") as stream:
        return stream.read(size)


def is_hidden(name: str) -> bool:
    """Tell dotfiles (AppleDouble '._x.jpg', .DS_Store) and system files by name."""
    return name.startswith(".") or name.lower() in SYSTEM_NAMES


def is_image_name(name: str) -> bool:
    return not is_hidden(name) and Path(name).suffix.lower() in IMAGE_SUFFIXES


def iter_image_files(root: Path) -> Iterator[Path]:
    """Yield PNG/JPEG files under `root` in sorted order, skipping hidden entries."""
    for folder, dirs, files in os.walk(root):
        # Sorting in place also fixes the order in which os.walk descends.
        dirs[:] = sorted(d for d in dirs if not is_hidden(d))
        for name in sorted(files):
            if is_image_name(name):
                yield Path(folder, name)
