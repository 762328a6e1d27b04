"""Features for the quality metric: a small CNN fitted once per dataset, then cached.

With labels, the net is trained as a classifier on the dataset itself, so its
features separate what matters in that data, as Inception's do for photographs
(Heusel et al. 2017). Without labels, a fixed random net seeded by the dataset's
key stands in; random conv features still rank distributions, more coarsely.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from pathlib import Path

import torch
from torch import Tensor

from worker.datasets import ImageSet
from worker.quality.cache import FeatureRecord, load_net, save_net
from worker.quality.classifier import train_classifier
from worker.quality.network import FeatureNet, build_net

logger = logging.getLogger(__name__)

# Not "fid": these are not Inception's features, and the numbers are not FID's.
METRIC_NAME = "fd_classifier"
# A batch of 256 MNIST images held 50 MB of first-layer maps at once, and the
# worker kept that memory for the rest of its life; 64 is no slower on a CPU.
FEATURE_BATCH = 64
# Enough leading images to tell two datasets of one description and shape apart
# without hashing a whole large set.
HASHED_IMAGES = 256
# Keys become file names in a folder other jobs share.
_SAFE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
LABELS = {
    "classifier": "Fréchet distance (small classifier features, lower is better)",
    "random": "Fréchet distance (random features: no labels, lower is better)",
}


def dataset_key(data: ImageSet) -> str:
    """A sha256 hex digest naming the dataset: description, shape, size, pixels."""
    digest = hashlib.sha256()
    digest.update(data.description.encode())
    digest.update(repr((tuple(data.images.shape), data.labels is not None)).encode())
    head = data.images[:HASHED_IMAGES].detach().cpu().contiguous()
    digest.update(head.numpy().tobytes())
    return digest.hexdigest()


class FeatureExtractor:
    """A fitted feature net on the CPU, and the record of how it was made."""

    name = METRIC_NAME

    def __init__(self, net: FeatureNet, record: FeatureRecord) -> None:
        self.net = net.eval()
        self.record = record

    @property
    def kind(self) -> str:
        """Either "classifier" (trained on the dataset's labels) or "random"."""
        return self.record.kind

    @property
    def label(self) -> str:
        """What the metric on these features is, for people."""
        return LABELS[self.record.kind]

    @classmethod
    def for_dataset(
        cls, data: ImageSet, cache_dir: Path, key: str | None = None
    ) -> FeatureExtractor:
        """Load the net cached under `key` or build, train and cache it.

        `key` defaults to `dataset_key(data)`. Runs on the CPU: the net is small,
        and CPU results do not depend on which GPU a worker has. Training is
        seeded; it repeats bit for bit on one machine with one thread count, and
        the cache keeps a run's numbers comparable with the next one's.
        """
        key = _check_key(key or dataset_key(data))
        cached = load_net(cache_dir, key, data.image_shape)
        if cached is not None:
            logger.debug("feature net %s loaded from %s", key, cache_dir)
            return cls(*cached)

        extractor = cls._build(data, _seed(key))
        save_net(cache_dir, key, extractor.net, extractor.record)
        return extractor

    @classmethod
    def _build(cls, data: ImageSet, seed: int) -> FeatureExtractor:
        channels = data.image_shape[0]
        labels = _usable_labels(data)
        if labels is None:
            logger.warning(
                "%s has no class labels; the quality metric uses random features",
                data.description,
            )
            record = FeatureRecord(
                kind="random",
                image_shape=data.image_shape,
                num_classes=0,
                dataset=data.description,
                seed=seed,
            )
            return cls(build_net(channels, 0, seed), record)
        return cls._train(data, labels, seed)

    @classmethod
    def _train(cls, data: ImageSet, labels: Tensor, seed: int) -> FeatureExtractor:
        num_classes = int(labels.max()) + 1
        net = build_net(data.image_shape[0], num_classes, seed)
        started = time.monotonic()
        report = train_classifier(net, data.images.float().cpu(), labels, seed)
        logger.info(
            "feature classifier for %s: %.1f%% held-out accuracy, trained in %.1f s",
            data.description,
            100 * report.held_out_accuracy,
            time.monotonic() - started,
        )
        record = FeatureRecord(
            kind="classifier",
            image_shape=data.image_shape,
            num_classes=num_classes,
            dataset=data.description,
            seed=seed,
            held_out_accuracy=report.held_out_accuracy,
            train_images=report.train_images,
            held_out_images=report.held_out_images,
            epochs=report.epochs,
        )
        return cls(net, record)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """Features [N, D] on the CPU for images [N, C, H, W] in [0, 1]."""
        if tuple(images.shape[1:]) != self.record.image_shape:
            raise ValueError(
                f"The feature net was fitted to images {self.record.image_shape}, "
                f"not {tuple(images.shape[1:])}; build a meter for this dataset."
            )
        images = images.detach().to("cpu", torch.float32)
        parts = [self.net.embed(batch) for batch in images.split(FEATURE_BATCH)]
        return torch.cat(parts)


def _usable_labels(data: ImageSet) -> Tensor | None:
    """The labels as int64 on the CPU, or None when they cannot train a classifier."""
    if data.labels is None or len(data.labels) != len(data.images):
        return None
    labels = data.labels.detach().to("cpu", torch.int64)
    # One class, or negative codes, teach cross-entropy nothing useful.
    if labels.min() < 0 or len(labels.unique()) < 2:
        return None
    return labels


def _seed(key: str) -> int:
    # Hashed again so any key, not only a hex digest, gives a well-spread seed.
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def _check_key(key: str) -> str:
    if not _SAFE_KEY.fullmatch(key):
        raise ValueError(
            f"Cache key {key!r} cannot name a file; use letters, digits, '-', '_' "
            "or '.', such as dataset_key(data) gives."
        )
    return key
