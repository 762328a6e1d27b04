"""Where a run keeps its dataset on CUDA: in GPU memory, or pinned in host memory.

A dataset on the GPU saves a host-to-device copy a step, so that is where it goes
when it fits with room to spare. One that would crowd the model, its optimizer state
and the activations stays on the host in page-locked (pinned) memory instead, and
each minibatch is gathered into a pinned buffer and copied asynchronously, so the
copy overlaps the previous step's kernels. On the CPU the data stays where it is.
"""

from __future__ import annotations

import logging
from typing import Literal

import torch
from torch import Tensor

logger = logging.getLogger(__name__)

Placement = Literal["device", "pinned", "host"]

# The share of the GPU's free memory a dataset may take. The rest holds the Adam
# moments (twice the weights), activations, the quality meter's net and whatever
# the allocator keeps cached; half leaves room for all of it with these models.
DEVICE_SHARE = 0.5


def fits_on_device(
    dataset_bytes: int, free_bytes: int, share: float = DEVICE_SHARE
) -> bool:
    """Whether a dataset of `dataset_bytes` may live on a GPU with `free_bytes` free."""
    if dataset_bytes < 0 or free_bytes < 0:
        raise ValueError(
            f"Sizes cannot be negative: dataset {dataset_bytes} bytes, "
            f"free {free_bytes} bytes."
        )
    return dataset_bytes <= share * free_bytes


def choose_placement(device: torch.device, dataset_bytes: int) -> Placement:
    """On CUDA "device" or "pinned", by the GPU's free memory now; else "host"."""
    if device.type != "cuda":
        return "host"
    free, _ = torch.cuda.mem_get_info(device)
    if fits_on_device(dataset_bytes, free, DEVICE_SHARE):
        return "device"
    logger.info(
        "dataset of %.2f GiB stays in pinned host memory: %.2f GiB free on %s",
        dataset_bytes / 2**30,
        free / 2**30,
        device,
    )
    return "pinned"


def size_in_bytes(*tensors: Tensor | None) -> int:
    """The bytes the tensors' elements take; None counts as nothing."""
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)


def gather_pinned(source: Tensor, index: Tensor) -> Tensor:
    """Rows `index` of a host tensor, copied into a fresh page-locked buffer.

    Indexing a pinned tensor gives pageable memory, from which a non_blocking copy
    runs synchronously. The buffer comes from torch's pinned-memory cache, which
    does not hand it out again until the copy that reads it has finished.
    """
    shape = (len(index), *source.shape[1:])
    buffer = torch.empty(shape, dtype=source.dtype, pin_memory=True)
    return torch.index_select(source, 0, index, out=buffer)
