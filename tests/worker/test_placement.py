"""A dataset goes to the GPU when it fits beside the model, else stays pinned on the host.

The decision is a pure function of sizes and is tested everywhere; pinned memory
needs CUDA, so the tests that use it skip, saying so, on a machine without it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from shared.spec import TrainSpec
from tests.worker.test_training import Recorder
from worker.datasets import ImageSet, load_images
from worker.training import placement, train
from worker.training.placement import (
    choose_placement,
    fits_on_device,
    gather_pinned,
    size_in_bytes,
)

GIB = 2**30
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason="no CUDA device here; pinned host memory needs one",
)


def test_a_dataset_within_half_the_free_memory_goes_to_the_gpu() -> None:
    assert fits_on_device(4 * GIB, 10 * GIB)
    assert fits_on_device(5 * GIB, 10 * GIB)


def test_a_dataset_over_half_the_free_memory_stays_on_the_host() -> None:
    assert not fits_on_device(5 * GIB + 1, 10 * GIB)
    assert not fits_on_device(1, 0)


def test_the_share_of_free_memory_can_be_set() -> None:
    assert fits_on_device(9 * GIB, 10 * GIB, share=0.9)
    assert not fits_on_device(1 * GIB, 10 * GIB, share=0.0)


def test_negative_sizes_are_refused_with_both_named() -> None:
    with pytest.raises(ValueError, match="dataset -1 bytes, free 10 bytes"):
        fits_on_device(-1, 10)


def test_size_counts_images_and_labels() -> None:
    images, labels = torch.zeros(10, 1, 8, 8), torch.zeros(10, dtype=torch.int64)

    assert size_in_bytes(images, labels) == 10 * 64 * 4 + 10 * 8
    assert size_in_bytes(images, None) == 10 * 64 * 4


def test_on_the_cpu_the_data_stays_where_it_is() -> None:
    assert choose_placement(torch.device("cpu"), 10**15) == "host"


@needs_cuda
def test_gathered_rows_are_pinned_and_equal_to_plain_indexing() -> None:
    source = torch.rand(100, 3, 8, 8).pin_memory()
    index = torch.tensor([5, 0, 99, 42])

    rows = gather_pinned(source, index)

    assert rows.is_pinned()
    assert torch.equal(rows, source[index])


@needs_cuda
def test_a_pinned_dataset_trains_as_one_on_the_gpu_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data: ImageSet = load_images(TrainSpec(model="cgan", dataset="digits"))
    spec = TrainSpec(model="cgan", dataset="digits", epochs=1, batch_size=64)
    device = torch.device("cuda")
    on_device = train(spec, data, device, Recorder(), tmp_path / "device")
    monkeypatch.setattr(placement, "DEVICE_SHARE", 0.0)

    with caplog.at_level(logging.INFO, logger=placement.__name__):
        pinned = train(spec, data, device, Recorder(), tmp_path / "pinned")

    assert "stays in pinned host memory" in caplog.text
    assert pinned.steps == on_device.steps
    for mean_pinned, mean_device in zip(
        pinned.epoch_means, on_device.epoch_means, strict=True
    ):
        assert mean_pinned == pytest.approx(mean_device, rel=1e-5)
