"""Read a dataset's pixels into one float tensor the training loop can slice.

Pixels are read as uint8 first and turned into float32 once, at the end, so 10,000
MNIST images cost about 8 MB while loading and 31 MB as the finished tensor.
"""

from __future__ import annotations

import gzip
import logging
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from shared.datasets import GZIP_MAGIC, detect_dataset, iter_image_files
from shared.errors import DatasetError
from shared.spec import TrainSpec

logger = logging.getLogger(__name__)

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049
# Image folders have no native size or colour; these match MNIST's size and the
# colour most photo folders have.
FOLDER_IMAGE_SIZE = 28
FOLDER_CHANNELS = 3


@dataclass(frozen=True)
class ImageSet:
    """Images as float32 [N, C, H, W] in [0, 1], with int64 labels when known."""

    images: torch.Tensor
    labels: torch.Tensor | None
    description: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        _, c, h, w = self.images.shape
        return c, h, w


def load_images(spec: TrainSpec) -> ImageSet:
    """Read the dataset a spec names, sized and coloured as the spec asks."""
    ref = detect_dataset(spec.dataset)
    if ref.kind == "folder":
        assert ref.path is not None
        return load_folder(ref.path, spec)

    if ref.kind == "idx":
        assert ref.path is not None
        pixels, labels, description = read_idx(ref.path, spec.max_images)
        scale = 255.0
    else:
        pixels, labels, description = read_digits(spec.max_images)
        scale = 16.0
    images = _to_float(pixels, scale)
    return ImageSet(_reshape(images, spec), labels, description)


def read_digits(limit: int | None) -> tuple[np.ndarray, torch.Tensor, str]:
    """Read scikit-learn's 8x8 digits as uint8 [N, 1, 8, 8] in 0..16, with labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = digits.images[:limit].astype(np.uint8)[:, None]
    labels = torch.from_numpy(digits.target[:limit].astype(np.int64))
    return pixels, labels, f"scikit-learn digits ({len(pixels):,} images, 8x8)"


def read_idx(
    path: Path, limit: int | None
) -> tuple[np.ndarray, torch.Tensor | None, str]:
    """Read an IDX image file as uint8 [N, 1, H, W], with labels from its idx1 twin."""
    data = _read_maybe_gzip(path)
    count, rows, cols = _idx_images_header(path, data)
    count = min(count, limit) if limit else count
    pixels = np.frombuffer(data, np.uint8, count * rows * cols, offset=16)
    pixels = pixels.reshape(count, 1, rows, cols)

    labels = _read_idx_labels(path, count)
    description = f"MNIST IDX {path} ({count:,} images, {rows}x{cols})"
    return pixels, labels, description


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


def _read_idx_labels(images_path: Path, count: int) -> torch.Tensor | None:
    path = idx_labels_path(images_path)
    if path is None:
        return None
    data = _read_maybe_gzip(path)
    magic, total = struct.unpack(">II", data[:8]) if len(data) >= 8 else (0, 0)
    if magic != IDX_LABELS_MAGIC or len(data) < 8 + count or total < count:
        # Labels only colour the charts; a bad label file must not stop training.
        logger.warning("ignoring label file %s: bad header or too short", path)
        return None
    labels = np.frombuffer(data, np.uint8, count, offset=8)
    return torch.from_numpy(labels.astype(np.int64))


def load_folder(root: Path, spec: TrainSpec) -> ImageSet:
    """Read a folder of PNG/JPEG images; class subfolders become labels."""
    size = spec.image_size or FOLDER_IMAGE_SIZE
    channels = spec.channels or FOLDER_CHANNELS
    files = list(iter_image_files(root))
    pixels, kept, skipped = _read_files(files, size, channels, spec.max_images)
    if not kept:
        raise DatasetError(
            f"None of the {len(files):,} image files in '{root}' could be read; "
            "check that they are valid PNG or JPEG files."
        )

    labels, classes = _folder_labels(root, files, kept)
    description = f"image folder {root} ({len(kept):,} images, {size}x{size}"
    description += f", {classes} class folders" if classes else ""
    description += f", {skipped} unreadable skipped)" if skipped else ")"
    return ImageSet(_to_float(pixels, 255.0), labels, description)


def _read_files(
    files: list[Path], size: int, channels: int, limit: int | None
) -> tuple[np.ndarray, list[Path], int]:
    capacity = min(len(files), limit) if limit else len(files)
    pixels = np.empty((capacity, size, size, channels), np.uint8)
    kept: list[Path] = []
    skipped = 0
    for path in files:
        if len(kept) == capacity:
            break
        image = _read_image(path, size, channels)
        if image is None:
            skipped += 1
            continue
        pixels[len(kept)] = image.reshape(size, size, channels)
        kept.append(path)
    return pixels[: len(kept)].transpose(0, 3, 1, 2), kept, skipped


def _read_image(path: Path, size: int, channels: int) -> np.ndarray | None:
    """Open, colour-convert, centre-crop and resize one image; None if unreadable."""
    try:
        with Image.open(path) as image:
            converted = image.convert("L" if channels == 1 else "RGB")
    # Pillow reports a broken file through several exception types, including
    # SyntaxError from some decoders; none of them should end the job.
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        logger.warning("skipping unreadable image %s: %s", path, exc)
        return None
    if converted.size != (size, size):
        converted = ImageOps.fit(
            converted, (size, size), Image.Resampling.LANCZOS, centering=(0.5, 0.5)
        )
    return np.asarray(converted, np.uint8)


def _folder_labels(
    root: Path, files: list[Path], kept: list[Path]
) -> tuple[torch.Tensor | None, int]:
    """Number the first-level subfolders; no labels if any image sits in the root.

    Classes are numbered over all files, not only the kept ones, so max_images
    does not change which number a class gets.
    """
    parts = [f.relative_to(root).parts for f in files]
    if any(len(p) < 2 for p in parts):
        return None, 0
    classes = sorted({p[0] for p in parts})
    index = {name: i for i, name in enumerate(classes)}
    labels = [index[f.relative_to(root).parts[0]] for f in kept]
    return torch.tensor(labels, dtype=torch.int64), len(classes)


def _to_float(pixels: np.ndarray, scale: float) -> torch.Tensor:
    # One copy, uint8 straight to float32, then divided in place; astype also makes
    # a writable array out of the read-only view np.frombuffer gives.
    return torch.from_numpy(pixels.astype(np.float32)).div_(scale)


def _reshape(images: torch.Tensor, spec: TrainSpec) -> torch.Tensor:
    """Resize square images to spec.image_size and repeat grey into RGB if asked."""
    size = spec.image_size
    if size is not None and images.shape[-2:] != (size, size):
        images = F.interpolate(
            images, size=(size, size), mode="bilinear", antialias=True
        ).clamp_(0.0, 1.0)
    if spec.channels == 3 and images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1).contiguous()
    return images
