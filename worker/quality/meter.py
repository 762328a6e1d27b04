"""Score generated images against one run's real images, with a real-vs-real floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from worker.datasets import ImageSet
from worker.models import Generative
from worker.quality.features import FeatureExtractor
from worker.quality.frechet import frechet_from_stats, gaussian_stats

METRIC_NAME = "fd_classifier"
# Two halves of 500: enough for a 64-dimensional covariance, and featurised in
# well under a second on a CPU.
MAX_REAL = 1000
SAMPLE_BATCH = 250


class QualityMeter:
    """The real images' feature statistics, built once per run; lower scores are better.

    The real images chosen are split in two halves: the first is the reference that
    generated images are scored against, the second gives `floor`, the distance of
    real images from the reference. Because the Fréchet estimate grows as samples
    shrink, a score compares with the floor only for `sample_count` generated images.
    Below a few hundred real images the covariances are rank-deficient and both
    numbers are rough.
    """

    name = METRIC_NAME

    def __init__(
        self,
        extractor: FeatureExtractor,
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
        features = _as_numpy(extractor.features(real_images[chosen]))
        self.sample_count = len(features) // 2
        reference, held_out = np.split(features[: 2 * self.sample_count], 2)
        self._mu, self._sigma = gaussian_stats(reference)
        self.floor = frechet_from_stats(
            self._mu, self._sigma, *gaussian_stats(held_out)
        )

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
    def label(self) -> str:
        """What the number is, for people: which features, and that lower is better."""
        return self.extractor.label

    @property
    def kind(self) -> str:
        """Either "classifier" or "random", as the extractor's record says."""
        return self.extractor.kind

    def score(self, generated: Tensor) -> float:
        """The Fréchet distance of generated images [N, C, H, W] in [0, 1]."""
        features = _as_numpy(self.extractor.features(generated))
        return frechet_from_stats(self._mu, self._sigma, *gaussian_stats(features))


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
