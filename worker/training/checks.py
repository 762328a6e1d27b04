"""Whether a dataset suits the spec's model, checked before any weight is drawn.

A conditional model needs labels; a conv model needs square images of 28, 32 or 64
pixels. Both are refused with what to do instead, before the first step.
"""

from __future__ import annotations

from shared.errors import JobFailed
from shared.spec import (
    CONDITIONAL_MODELS,
    CONV_IMAGE_SIZES,
    CONV_MODELS,
    CONV_SIZES_TEXT,
    TrainSpec,
    nearest_conv_size,
)
from worker.datasets import ImageSet


def check_image_shape(spec: TrainSpec, data: ImageSet) -> None:
    """Refuse a conv model for images its stacks cannot halve down to their base."""
    _, height, width = data.image_shape
    if spec.model not in CONV_MODELS:
        return
    if height == width and height in CONV_IMAGE_SIZES:
        return
    raise JobFailed(
        f"{spec.model} needs image_size {CONV_SIZES_TEXT}, but {data.description} "
        f"gives {height}x{width} images; pass --image-size "
        f"{nearest_conv_size(height)}."
    )


def class_count(spec: TrainSpec, data: ImageSet) -> int:
    """Classes for a conditional model (the largest label + 1); 0 for the rest."""
    if spec.model not in CONDITIONAL_MODELS:
        return 0
    if data.labels is None or len(data.labels) == 0:
        raise JobFailed(
            f"{spec.model} is a conditional model and needs a labelled dataset, but "
            f"{data.description} has no labels; use digits, MNIST with its labels "
            "file beside the images, or an image folder with one subfolder per class."
        )
    return int(data.labels.max()) + 1
