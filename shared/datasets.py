"""Which kind of dataset a reference names, decided without reading pixels.

The client calls `detect_dataset` to refuse a bad path before it submits a job; the
worker calls it again and then reads the pixels (see `worker.datasets`). Nothing here
imports torch or numpy, so the check is fast.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shared.errors import DatasetError

DatasetKind = Literal["digits", "idx", "folder"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
IDX_SUFFIXES = ("idx3-ubyte", "idx3-ubyte.gz")
# Big-endian magic of an IDX file of unsigned bytes in three dimensions (N, H, W).
IDX3_MAGIC = b"\x00\x00\x08\x03"
GZIP_MAGIC = b"\x1f\x8b"

_EXPECTED = (
    "give 'digits', an MNIST IDX file or a folder holding one, "
    "or a folder of PNG/JPEG images."
)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset reference that has been checked to exist and be of a known kind."""

    kind: DatasetKind
    path: Path | None
    description: str

    def canonical(self) -> str:
        """Return the form stored in a spec: 'digits' or the absolute path."""
        return "digits" if self.path is None else str(self.path)


def detect_dataset(ref: str) -> DatasetRef:
    """Say which kind of dataset `ref` names, or raise DatasetError saying why not."""
    if ref.strip().lower() == "digits":
        return DatasetRef("digits", None, "scikit-learn digits (1,797 images, 8x8)")

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
    if is_idx_images_file(path):
        return DatasetRef("idx", path, f"MNIST IDX file {path}")
    raise DatasetError(
        f"Dataset file '{path}' is not an MNIST IDX image file; {_EXPECTED}"
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

    if next(iter_image_files(path), None) is not None:
        return DatasetRef("folder", path, f"image folder {path}")
    raise DatasetError(
        f"Dataset folder '{path}' holds no PNG/JPEG images and no IDX files; "
        + _EXPECTED
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


def iter_image_files(root: Path) -> Iterator[Path]:
    """Yield PNG/JPEG files under `root` in sorted order, skipping hidden entries."""
    for folder, dirs, files in os.walk(root):
        # Sorting in place also fixes the order in which os.walk descends.
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                yield Path(folder, name)
