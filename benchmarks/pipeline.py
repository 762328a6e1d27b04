"""Data pipeline rows: images a second read by genqueue's dataset code and by a plain loop.

genqueue reads a whole dataset before the first step (worker/datasets.py and
worker/arrays.py): an IDX file is decompressed and viewed as an array, an image
folder is listed, and every file decoded, checked and converted. The baselines read
the same IDX array with gzip and numpy, and decode the same files with Pillow in a
plain loop. The target is on what the training loop waits for once the data is
read: the data wait measured in the training rows, over their step time.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.bare_loop import read_idx_images
from benchmarks.inputs import MNIST_FILE, Source
from benchmarks.report import Row, detail_under
from shared.spec import TrainSpec
from worker.datasets import load_images

DATA_WAIT_LIMIT = 0.05


def _rate(read: Callable[[], int]) -> float:
    started = time.perf_counter()
    count = read()
    return count / (time.perf_counter() - started)


def _row(
    key: str,
    what: str,
    rates: tuple[float, float],
    baseline_is: str,
    data_wait_share: float,
    note: str,
) -> Row:
    return Row(
        key=key,
        what=what,
        unit="images/s",
        genqueue=rates[0],
        baseline=rates[1],
        baseline_is=baseline_is,
        target=detail_under(
            "data_wait_share", DATA_WAIT_LIMIT, "data wait < 5% of step time"
        ),
        note=note,
        details={"data_wait_share": data_wait_share},
    )


def idx_row(source: Source, limit: int | None, rounds: int, wait: float) -> Row:
    """MNIST IDX (or the digits fallback) through load_images and through numpy."""
    spec = TrainSpec.from_json(
        {"model": "vae", "dataset": source.reference, "max_images": limit}
    )

    def genqueue() -> int:
        return len(load_images(spec).images)

    def baseline() -> int:
        if source.is_fallback:
            return len(_digits_plain(limit))
        return len(read_idx_images(Path(source.reference) / MNIST_FILE, limit))

    # Interleaved, so a burst of load on the machine falls on both alike.
    rates = _interleaved(genqueue, baseline, rounds)
    return _row(
        "data_idx",
        "data pipeline, IDX",
        rates,
        "gzip and numpy over the same file, in a plain function",
        wait,
        f"{source.description}; data wait from the MLP VAE row",
    )


def folder_row(source: Source, limit: int | None, rounds: int, wait: float) -> Row:
    """The JPEG folder through load_images and through a plain Pillow loop."""
    spec = TrainSpec.from_json(
        {
            "model": "dcgan",
            "dataset": source.reference,
            "image_size": 32,
            "channels": 3,
            "max_images": limit,
        }
    )

    def genqueue() -> int:
        return len(load_images(spec).images)

    def baseline() -> int:
        return len(_decode_plain(Path(source.reference), limit))

    rates = _interleaved(genqueue, baseline, rounds)
    return _row(
        "data_jpeg",
        "data pipeline, JPEG folder",
        rates,
        "Image.open, convert('RGB') and numpy over the same files, in a plain loop",
        wait,
        f"{source.description}, 32x32 RGB; genqueue also checks each file whole "
        "before decoding it; data wait from the DCGAN row",
    )


def _interleaved(
    genqueue: Callable[[], int], baseline: Callable[[], int], rounds: int
) -> tuple[float, float]:
    genqueue(), baseline()  # warm the file cache for both
    ours: list[float] = []
    theirs: list[float] = []
    for round_ in range(rounds):
        pair = (genqueue, baseline) if round_ % 2 else (baseline, genqueue)
        for read in pair:
            (ours if read is genqueue else theirs).append(_rate(read))
    return statistics.median(ours), statistics.median(theirs)


def _decode_plain(root: Path, limit: int | None) -> torch.Tensor:
    paths = sorted(
        Path(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
        if name.lower().endswith((".jpg", ".jpeg", ".png"))
    )[:limit]
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    return torch.from_numpy(pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255)


def _digits_plain(limit: int | None) -> torch.Tensor:
    from sklearn.datasets import load_digits

    images = load_digits().images[:limit].astype(np.float32) / 16
    return torch.from_numpy(images[:, None])
