"""Readers of datasets stored as arrays: digits, MNIST IDX, NumPy .npz, CIFAR-10 binary.

Each returns the pixels as stored, [N, C, H, W], with the value that means white, so
the caller scales once; nothing here decodes image files or resizes.
"""

from __future__ import annotations

import functools
import gzip
import logging
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.lib.npyio import NpzFile

from shared.datasets import (
    GZIP_MAGIC,
    NPZ_LABEL_KEYS,
    find_cifar_batches,
    npz_image_keys,
)
from shared.errors import DatasetError

logger = logging.getLogger(__name__)

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
# One label byte, then 1,024 bytes each of the red, green and blue planes, row-major.
CIFAR_SIDE = 32
CIFAR_RECORD = 1 + 3 * CIFAR_SIDE * CIFAR_SIDE


@dataclass(frozen=True)
class Arrays:
    """Pixels as stored, [N, C, H, W], before scaling into [0, 1]."""

    pixels: np.ndarray
    labels: torch.Tensor | None
    description: str
    scale: float = 255.0  # the stored value of white


def read_digits(limit: int | None) -> Arrays:
    """Read scikit-learn's 8x8 digits as uint8 [N, 1, 8, 8] in 0..16, with labels."""
    images, targets = _digits()
    pixels = images[:limit][:, None]
    labels = torch.from_numpy(targets[:limit].astype(np.int64))
    description = f"scikit-learn digits ({len(pixels):,} images, 8x8)"
    return Arrays(pixels, labels, description, scale=16.0)


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits as uint8 images and their labels, read once per process.

    scikit-learn parses its CSV on every call, which took half of a one-step job's
    time on a worker; the arrays come back read-only, so no job can change them.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)
    targets = digits.target.copy()
    images.flags.writeable = targets.flags.writeable = False
    return images, targets


def read_idx(path: Path, limit: int | None) -> Arrays:
    """Read an IDX image file as uint8 [N, 1, H, W], with labels from its idx1 twin."""
    data = _read_maybe_gzip(path)
    count, rows, cols = _idx_images_header(path, data)
    count = min(count, limit) if limit else count
    pixels = np.frombuffer(data, np.uint8, count * rows * cols, offset=16)
    pixels = pixels.reshape(count, 1, rows, cols)

    labels, note = _read_idx_labels(path, count)
    description = f"MNIST IDX {path} ({count:,} images, {rows}x{cols}{note})"
    return Arrays(pixels, labels, description)


def _read_maybe_gzip(path: Path) -> bytes:
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DatasetError(
            f"IDX file '{path}' is not valid gzip data ({exc}); download it again."
        ) from None


def _idx_images_header(path: Path, data: bytes) -> tuple[int, int, int]:
    if len(data) < 16:
        raise DatasetError(
            f"IDX file '{path}' is truncated: {len(data)} bytes, shorter than the "
            "16-byte header; download it again."
        )
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IDX_IMAGES_MAGIC:
        raise DatasetError(
            f"IDX file '{path}' has magic number {magic}, not {IDX_IMAGES_MAGIC}; "
            "give an idx3-ubyte image file, not a label file."
        )
    expected = 16 + count * rows * cols
    if len(data) < expected:
        raise DatasetError(
            f"IDX file '{path}' is truncated: its header promises {count:,} images of "
            f"{rows}x{cols} ({expected:,} bytes) but it holds {len(data):,} bytes; "
            "download it again."
        )
    return count, rows, cols


def idx_labels_path(images_path: Path) -> Path | None:
    """Find the idx1 label file beside an image file (t10k-images → t10k-labels)."""
    stem = images_path.name.removesuffix(".gz")
    if "images-idx3-ubyte" not in stem:
        return None
    label_stem = stem.replace("images-idx3-ubyte", "labels-idx1-ubyte")
    for name in (label_stem + ".gz", label_stem):
        candidate = images_path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def _read_idx_labels(images_path: Path, count: int) -> tuple[torch.Tensor | None, str]:
    """The labels of the first `count` images, or None and a note saying why not."""
    path = idx_labels_path(images_path)
    if path is None:
        return None, ""
    data = _read_maybe_gzip(path)
    magic, total = struct.unpack(">II", data[:8]) if len(data) >= 8 else (0, 0)
    if magic != IDX_LABELS_MAGIC or len(data) < 8 + count or total < count:
        # Labels only colour the charts, so a bad label file does not stop training;
        # the note tells a conditional model's refusal why they went unused.
        logger.warning("ignoring label file %s: bad header or too short", path)
        note = f"; labels in {path.name} unused: bad header or fewer than {count:,}"
        return None, note
    labels = np.frombuffer(data, np.uint8, count, offset=8)
    return torch.from_numpy(labels.astype(np.int64)), ""


def read_npz(path: Path, limit: int | None) -> Arrays:
    """Read the first image array of a .npz that fits, and its labels if any.

    Never unpickles: an object array is refused, as a pickle can run code.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            key, pixels = _npz_images(path, archive)
            pixels = _centre_square(pixels[:limit])
            labels = _npz_labels(path, archive, key, len(pixels))
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(
            f"Cannot read NumPy file '{path}' ({exc}); save it again with numpy.savez."
        ) from None
    scale = _npz_scale(path, key, pixels)

    count, channels, side, _ = pixels.shape
    description = (
        f"NumPy arrays {path} ('{key}': {count:,} images, {side}x{side}, "
        f"{channels} channel{'s' if channels > 1 else ''})"
    )
    return Arrays(pixels, labels, description, scale)


def _npz_images(path: Path, archive: NpzFile) -> tuple[str, np.ndarray]:
    """Return the first image key whose array has an image layout, as [N, C, H, W]."""
    found: list[str] = []
    for key in npz_image_keys(path):
        array = _npz_array(path, archive, key)
        layout = _channels_first(array)
        if layout is not None and len(layout):
            return key, layout
        found.append(f"{key} {list(array.shape)} {array.dtype}")
    raise DatasetError(
        f"No image array in '{path}' fits: found {', '.join(found)}; give one of "
        "shape [N, H, W], [N, H, W, C] or [N, C, H, W] with C 1 or 3, and N > 0."
    )


def _npz_array(path: Path, archive: NpzFile, key: str) -> np.ndarray:
    try:
        return np.asarray(archive[key])
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise DatasetError(f"Cannot read '{key}' in '{path}' ({exc}).") from None
        raise DatasetError(
            f"'{path}' stores '{key}' as a pickled object array, which genqueue "
            "never loads (a pickle can run code); save a numeric array with "
            "numpy.savez."
        ) from None


def _channels_first(array: np.ndarray) -> np.ndarray | None:
    """[N, H, W] or [N, H, W, C] or [N, C, H, W] as [N, C, H, W]; None otherwise.

    A last axis of 1 or 3 is taken for the channels, as images 1 or 3 pixels
    wide are far rarer than channels-last arrays.
    """
    if array.ndim == 3:
        return array[:, None]
    if array.ndim == 4 and array.shape[3] in (1, 3):
        return array.transpose(0, 3, 1, 2)
    if array.ndim == 4 and array.shape[1] in (1, 3):
        return array
    return None


def _centre_square(pixels: np.ndarray) -> np.ndarray:
    # The models want square images; folders are centre-cropped the same way.
    height, width = pixels.shape[-2:]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return pixels[..., top : top + side, left : left + side]


def _npz_scale(path: Path, key: str, pixels: np.ndarray) -> float:
    """255 for uint8, 1 for floats already in [0, 1]; anything else is refused."""
    if pixels.dtype == np.uint8:
        return 255.0
    if not np.issubdtype(pixels.dtype, np.floating):
        raise DatasetError(
            f"'{path}' array '{key}' has dtype {pixels.dtype}; save uint8 values "
            "0-255 or floats 0-1."
        )
    low, high = float(pixels.min()), float(pixels.max())
    if not 0.0 <= low <= high <= 1.0:
        raise DatasetError(
            f"'{path}' array '{key}' holds floats from {low:g} to {high:g}; scale "
            "them into [0, 1] (divide by 255) or save uint8 values 0-255."
        )
    return 1.0


def _npz_labels(
    path: Path, archive: NpzFile, key: str, count: int
) -> torch.Tensor | None:
    """The labels paired with `key` (x → y), else any label key; None if unusable."""
    names = [NPZ_LABEL_KEYS.get(key, ""), *NPZ_LABEL_KEYS.values()]
    name = next((n for n in names if n in archive.files), None)
    if name is None:
        return None
    try:
        labels = np.asarray(archive[name])
    except ValueError:
        labels = np.empty(0)  # a pickled label array is ignored like a short one
    if labels.ndim != 1 or len(labels) < count or labels.dtype.kind not in "iu":
        # Labels only colour the charts; bad labels must not stop training.
        logger.warning("ignoring labels '%s' in %s: not %d integers", name, path, count)
        return None
    return torch.from_numpy(labels[:count].astype(np.int64))


def read_cifar(path: Path, limit: int | None) -> Arrays:
    """Read CIFAR-10 binary batches (a folder or one batch file) as uint8 [N, 3, 32, 32]."""
    files = [path] if path.is_file() else find_cifar_batches(path)
    if not files:
        raise DatasetError(
            f"'{path}' holds no CIFAR-10 batches (data_batch_*.bin, test_batch.bin)."
        )
    batches: list[np.ndarray] = []
    for file in files:
        if limit and sum(len(b) for b in batches) >= limit:
            break
        batches.append(_cifar_records(file))

    records = np.concatenate(batches)[:limit]
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    pixels = records[:, 1:].reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE)
    names = ", ".join(f.name for f in files[: len(batches)])
    description = f"CIFAR-10 binary {path} ({len(records):,} images, 32x32, {names})"
    return Arrays(pixels, labels, description)


def _cifar_records(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if not raw or len(raw) % CIFAR_RECORD:
        raise DatasetError(
            f"CIFAR-10 batch '{path}' is {len(raw):,} bytes, not a whole number of "
            f"{CIFAR_RECORD:,}-byte records (1 label byte, 3,072 pixel bytes); it is "
            "truncated or not a CIFAR-10 file, so download it again."
        )
    return np.frombuffer(raw, np.uint8).reshape(-1, CIFAR_RECORD)
