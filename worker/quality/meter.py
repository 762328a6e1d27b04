"""Score generated images against one run's real images, with a real-vs-real floor."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from worker.datasets import ImageSet
from worker.models import Generative
from worker.quality.features import FeatureExtractor
from worker.quality.frechet import (
    SampleGaussian,
    frechet_from_samples,
    sample_gaussian,
)

# Two halves of 500: enough for a 64-dimensional covariance, and featurised in
# well under a second on a CPU.
MAX_REAL = 1000
SAMPLE_BATCH = 250


class Features(Protocol):
    """What a meter needs of a feature net: its metric's name, and features."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str: ...

    def features(self, images: Tensor) -> Tensor:
        """Features [N, D] on the CPU for images [N, C, H, W] in [0, 1]."""
        ...


class QualityMeter:
    """The real images' features, measured once per run; lower scores are better.

    The real images chosen are split in two halves: the first is the reference that
    generated images are scored against, the second gives `floor`, the distance of
    real images from the reference. Because the Fréchet estimate grows as samples
    shrink, a score compares with the floor only for `sample_count` generated images.
    With fewer samples than features (always so for Inception's 2048) the
    covariances are rank-deficient: both numbers are biased upwards, and far from
    the FIDs papers report at 50,000 samples, but they still rank models.
    """

    def __init__(
        self,
        extractor: Features,
        real_images: Tensor,
        *,
        max_real: int = MAX_REAL,
        seed: int = 0,
    ) -> None:
        if len(real_images) < 4:
            raise ValueError(
                f"The quality metric needs at least 4 real images, got "
                f"{len(real_images)}; train on a larger dataset or skip it."
            )
        self.extractor = extractor
        chosen = _choose(len(real_images), max_real, seed)
        started = time.monotonic()
        features = _as_numpy(extractor.features(real_images[chosen]))
        self.seconds_per_image = (time.monotonic() - started) / len(chosen)
        self.sample_count = len(features) // 2
        reference, held_out = np.split(features[: 2 * self.sample_count], 2)
        self._reference: SampleGaussian = sample_gaussian(reference)
        self.floor = frechet_from_samples(self._reference, sample_gaussian(held_out))

    @classmethod
    def for_dataset(
        cls,
        data: ImageSet,
        cache_dir: Path,
        key: str | None = None,
        *,
        max_real: int = MAX_REAL,
        seed: int = 0,
    ) -> QualityMeter:
        """Fit (or load) the dataset's feature net, then measure its real images."""
        extractor = FeatureExtractor.for_dataset(data, cache_dir, key)
        return cls(extractor, data.images, max_real=max_real, seed=seed)

    @property
    def name(self) -> str:
        """The metric's key in each epoch's means: fd_classifier or fid_inception."""
        return self.extractor.name

    @property
    def label(self) -> str:
        """What the number is, for people: which features, and that lower is better."""
        return self.extractor.label

    @property
    def kind(self) -> str:
        """One of "classifier", "random" or "inception", as the extractor says."""
        return self.extractor.kind

    def describe(self) -> str:
        """One sentence for the job log: the metric, its floor and its cost."""
        seconds = self.seconds_per_image * self.sample_count
        if seconds < 0.1:
            cost = "under 0.1 s"
        else:
            cost = f"about {seconds:.{1 if seconds < 10 else 0}f} s"
        return (
            f"{self.label}, as {self.name}; real vs real scores {self.floor:.3g} at "
            f"{self.sample_count} samples an epoch, which take {cost} to measure"
        )

    def score(self, generated: Tensor) -> float:
        """The Fréchet distance of generated images [N, C, H, W] in [0, 1]."""
        features = _as_numpy(self.extractor.features(generated))
        return frechet_from_samples(self._reference, sample_gaussian(features))


def draw_samples(
    generator: Generative,
    count: int,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> Tensor:
    """`count` images on the CPU from noise fixed by `seed`, without a graph.

    The same seed gives the same noise every epoch, so scores change only as the
    model does. Put the model in eval mode first; a conditional one draws its
    classes in turn.
    """
    noise = torch.randn(
        count, generator.latent_dim, generator=torch.Generator().manual_seed(seed)
    )
    # Classes in turn over the whole draw, so every class gets its share.
    labels = torch.arange(count) % max(1, generator.num_classes)
    with torch.no_grad():
        parts = [
            generator.sample(z.to(device), classes.to(device)).float().cpu()
            for z, classes in zip(
                noise.split(SAMPLE_BATCH), labels.split(SAMPLE_BATCH), strict=True
            )
        ]
    return torch.cat(parts)


def _choose(count: int, limit: int, seed: int) -> Tensor:
    """A seeded random choice of up to `limit` indices, so the halves mix classes."""
    shuffler = torch.Generator().manual_seed(seed)
    return torch.randperm(count, generator=shuffler)[:limit]


def _as_numpy(features: Tensor) -> np.ndarray:
    return features.double().numpy()
