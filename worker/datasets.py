"""Read a dataset's pixels into one float tensor the training loop can slice.

Pixels are read as uint8 first and turned into float32 once, at the end, so 10,000
MNIST images cost about 8 MB while loading and 31 MB as the finished tensor. Every
file is decoded here, before training, so a bad file cannot stop a job mid-epoch.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from shared.datasets import (
    DatasetRef,
    check_worker_reference,
    detect_dataset,
)
from shared.downloads import fetch, named_dataset
from shared.errors import DatasetError
from shared.spec import TrainSpec
from worker.arrays import Arrays, read_cifar, read_digits, read_idx, read_npz
from worker.preflight import PreflightReport, list_folder, read_images
from worker.subset import balanced_order

logger = logging.getLogger(__name__)

# Image folders have no native size or colour; these match MNIST's size and the
# colour most photo folders have.
FOLDER_IMAGE_SIZE = 28
FOLDER_CHANNELS = 3
# ITU-R 601-2 luma, the weights Pillow's "L" uses, so arrays and folders agree.
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class ImageSet:
    """Images as float32 [N, C, H, W] in [0, 1], with int64 labels when known.

    `report` says what the pre-flight scan of an image folder skipped and
    converted; other kinds of dataset have none.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    description: str
    report: PreflightReport | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        _, c, h, w = self.images.shape
        return c, h, w


def load_images(spec: TrainSpec) -> ImageSet:
    """Read the dataset a spec names, sized and coloured as the spec asks."""
    check_worker_reference(spec.dataset)
    check_still_there(spec.dataset)
    ref = detect_dataset(spec.dataset)
    if ref.kind == "named":
        return load_named(ref.name, spec)
    return _load_ref(ref, spec)


def check_still_there(dataset: str) -> None:
    """Refuse a dataset path missing on this worker, saying which worker looked.

    The client found the path, or was told it lives on the worker, so the list of
    dataset kinds that detect_dataset gives for a missing path would not help.
    """
    path = Path(dataset).expanduser()
    if not path.is_absolute() or path.exists():
        return
    raise DatasetError(
        f"Dataset path '{dataset}' does not exist on worker {socket.gethostname()}: "
        "it was moved or deleted after the job was submitted, or lies on another "
        "machine. Put it back at that path and retry the job, or submit it again "
        "with a path this worker can read."
    )


def load_named(name: str, spec: TrainSpec) -> ImageSet:
    """Fetch a named dataset into the cache (or find it there), then read it."""
    dataset = named_dataset(name)
    if dataset is None:
        raise DatasetError(f"No dataset is named '{name}'; give a path instead.")
    fetched = fetch(dataset)

    data = _load_ref(detect_dataset(str(fetched.path)), spec)
    description = f"{fetched.title}: {data.description}"
    if fetched.note:
        description += f"; {fetched.note}"
    return replace(data, description=description)


def _load_ref(ref: DatasetRef, spec: TrainSpec) -> ImageSet:
    if ref.kind == "folder":
        assert ref.path is not None
        return load_folder(ref.path, spec)

    arrays = _read_arrays(ref, spec.max_images)
    images = _to_float(arrays.pixels, arrays.scale)
    return ImageSet(_reshape(images, spec), arrays.labels, arrays.description)


def _read_arrays(ref: DatasetRef, limit: int | None) -> Arrays:
    if ref.kind == "digits":
        return read_digits(limit)
    if ref.path is None:
        raise DatasetError(f"Dataset '{ref.canonical()}' has no file to read.")
    if ref.kind == "npz":
        return read_npz(ref.path, limit)
    if ref.kind == "cifar10-bin":
        return read_cifar(ref.path, limit)
    return read_idx(ref.path, limit)


def load_folder(root: Path, spec: TrainSpec) -> ImageSet:
    """Read a folder of PNG/JPEG images; class subfolders become labels.

    With max_images below the folder's count, a seeded sample is read in which
    each class keeps its share (worker/subset.py). The pre-flight scan's report
    goes into the ImageSet and the log; a folder where no file could be used is
    refused with that report.
    """
    size = spec.image_size or FOLDER_IMAGE_SIZE
    channels = spec.channels or FOLDER_CHANNELS
    report = PreflightReport(target_mode="L" if channels == 1 else "RGB")
    files = list_folder(root, report)
    limit = spec.max_images
    wanted = balanced_order(files, root) if limit and limit < len(files) else files
    pixels, kept = _read_files(wanted, root, report, size, limit)
    _log_report(root, report)
    if not kept:
        raise DatasetError(
            f"No file in '{root}' could be used: {report.summary()}. "
            "Give a folder of valid PNG or JPEG images."
        )

    labels, classes = _folder_labels(root, files, kept)
    description = f"image folder {root} ({len(kept):,} images, {size}x{size}"
    description += f", {classes} class folders" if classes else ""
    description += _skipped_note(report.skipped_count) + ")"
    return ImageSet(_to_float(pixels, 255.0), labels, description, report)


def _read_files(
    files: list[Path],
    root: Path,
    report: PreflightReport,
    size: int,
    limit: int | None,
) -> tuple[np.ndarray, list[Path]]:
    channels = len(report.target_mode)  # "L" or "RGB"
    capacity = min(len(files), limit) if limit else len(files)
    pixels = np.empty((capacity, size, size, channels), np.uint8)
    kept: list[Path] = []
    for path, image in read_images(files, root, report, limit):
        pixels[len(kept)] = _fit(image, size).reshape(size, size, channels)
        kept.append(path)
    return pixels[: len(kept)].transpose(0, 3, 1, 2), kept


def _fit(image: Image.Image, size: int) -> np.ndarray:
    """Centre-crop and resize an image to size x size pixels."""
    if image.size != (size, size):
        image = ImageOps.fit(
            image, (size, size), Image.Resampling.LANCZOS, centering=(0.5, 0.5)
        )
    return np.asarray(image, np.uint8)


def _skipped_note(count: int) -> str:
    if not count:
        return ""
    return f", {count:,} file{'' if count == 1 else 's'} skipped"


def _log_report(root: Path, report: PreflightReport) -> None:
    # A skipped or converted file is worth a warning: the job trains on less, or
    # on other colours, than the folder seems to hold.
    level = logging.WARNING if report.problems else logging.INFO
    logger.log(level, "image folder %s: %s", root, report.summary())


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
    if spec.channels == 1 and images.shape[1] == 3:
        luma = images.new_tensor(LUMA).view(1, 3, 1, 1)
        images = (images * luma).sum(dim=1, keepdim=True)
    return images
