"""Choose the run's quality metric: FID when Inception weights are present, else ours.

A weights file that is configured but cannot be used does not fail the job: the
run falls back to the classifier metric and `warn` says why, naming the file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from worker.datasets import ImageSet
from worker.quality.inception import (
    InceptionExtractor,
    InceptionWeightsError,
    find_weights,
)
from worker.quality.meter import QualityMeter

logger = logging.getLogger(__name__)

# Two halves of 200 real images once, then 200 samples an epoch. A 299-pixel pass
# took a quarter of a second to over a second an image on two CPU cores (idle to
# shared), so about one to four minutes an epoch there; seconds on a GPU. Fewer
# samples would let the estimate's upward bias swamp what it measures.
INCEPTION_MAX_REAL = 400


def build_meter(
    data: ImageSet,
    cache_dir: Path,
    device: torch.device | None = None,
    warn: Callable[[str], None] = logger.warning,
    weights: Path | None = None,
) -> QualityMeter:
    """FID on Inception features when weights are found, else the classifier metric.

    `weights` defaults to what `find_weights` finds. The classifier metric always
    runs on the CPU; Inception runs on `device`.
    """
    path = weights or find_weights()
    if path is not None:
        try:
            extractor = InceptionExtractor.from_file(path, device)
        except InceptionWeightsError as exc:
            warn(f"{exc} The quality metric is the classifier's instead.")
        else:
            return QualityMeter(extractor, data.images, max_real=INCEPTION_MAX_REAL)
    return QualityMeter.for_dataset(data, cache_dir)
