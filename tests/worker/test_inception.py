"""With Inception weights in place the metric is FID, named so; bad files are named.

The weights are random, written by the tests in the published file's layout; that
the net computes the reference tools' features is shown in
test_inception_reference.py, where those tools import. A 299-pixel pass costs about
a quarter of a second an image on two cores, so these tests use a handful.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import pytest
import torch
from torch import Tensor

from shared.spec import TrainSpec
from tests.worker.inception_weights import random_inception_state, write_safetensors
from tests.worker.test_quality import Quiet
from worker.datasets import ImageSet, load_images
from worker.quality import (
    InceptionExtractor,
    InceptionWeightsError,
    QualityMeter,
    build_meter,
)
from worker.quality.inception import WEIGHTS_NAMES, find_weights, load_inception
from worker.training import train

CPU = torch.device("cpu")
REAL = 4


@functools.cache
def digits() -> ImageSet:
    return load_images(TrainSpec(model="vae", dataset="digits", max_images=64))


@pytest.fixture(scope="module")
def state() -> dict[str, Tensor]:
    return random_inception_state(seed=1)


@pytest.fixture(scope="module")
def weights(state: dict[str, Tensor], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inception")
    return write_safetensors(folder / WEIGHTS_NAMES[0], state)


@pytest.fixture(scope="module")
def meter(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> QualityMeter:
    real = ImageSet(digits().images[:REAL], None, "four digits")
    return build_meter(real, tmp_path_factory.mktemp("cache"), CPU, weights=weights)


# Finding the file


def test_the_environment_names_the_file_before_the_cache(tmp_path: Path) -> None:
    cached = tmp_path / WEIGHTS_NAMES[1]
    cached.write_bytes(b"")
    configured = tmp_path / "elsewhere.safetensors"

    from_env = find_weights({"GENQUEUE_INCEPTION_WEIGHTS": str(configured)}, tmp_path)
    from_cache = find_weights({}, tmp_path)

    assert from_env == configured
    assert from_cache == cached


def test_off_or_an_empty_cache_finds_no_weights(tmp_path: Path) -> None:
    (tmp_path / WEIGHTS_NAMES[0]).write_bytes(b"")

    assert find_weights({"GENQUEUE_INCEPTION_WEIGHTS": "off"}, tmp_path) is None
    assert find_weights({}, tmp_path / "empty") is None


# Reading it, as plain tensors only


def test_pth_and_safetensors_files_load_the_same_weights(
    state: dict[str, Tensor], weights: Path, tmp_path: Path
) -> None:
    pth = tmp_path / WEIGHTS_NAMES[1]
    # The published file has no batch-norm step counters; this one leaves them out.
    torch.save({k: v for k, v in state.items() if "num_batches" not in k}, pth)

    from_pth, from_safetensors = load_inception(pth), load_inception(weights)

    for name, tensor in from_safetensors.state_dict().items():
        assert torch.equal(tensor, from_pth.state_dict()[name]), name
    assert torch.equal(from_pth.fc.weight, state["fc.weight"])


def test_a_tensor_of_the_wrong_shape_is_refused_with_the_file_and_tensor_named(
    state: dict[str, Tensor], tmp_path: Path
) -> None:
    path = write_safetensors(
        tmp_path / "bad.safetensors", {**state, "fc.weight": torch.zeros(10, 2048)}
    )

    with pytest.raises(InceptionWeightsError) as caught:
        load_inception(path)

    message = str(caught.value)
    assert str(path) in message
    assert "fc.weight is [10, 2048], not [1008, 2048]" in message
    assert "GENQUEUE_INCEPTION_WEIGHTS" in message


def test_another_nets_file_is_refused_naming_missing_and_unexpected_tensors(
    tmp_path: Path,
) -> None:
    path = write_safetensors(tmp_path / "other.safetensors", {"x": torch.zeros(3)})

    with pytest.raises(InceptionWeightsError, match=r"tensors missing \(") as caught:
        load_inception(path)

    assert "1 tensors unexpected (x)" in str(caught.value)


class _Planted:
    """Unpickling this would create a file; a tensors-only reader never does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.marker),)


def test_a_pickled_object_is_refused_without_being_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "planted.pth"
    torch.save({"fc.weight": _Planted(marker)}, path)

    with pytest.raises(InceptionWeightsError, match="as plain tensors"):
        load_inception(path)

    assert not marker.exists()


def test_a_configured_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pth"

    with pytest.raises(InceptionWeightsError, match="nowhere.pth does not exist"):
        InceptionExtractor.from_file(missing)


# Measuring with it


def test_a_meter_with_inception_weights_is_fid_inception_and_says_so(
    meter: QualityMeter,
) -> None:
    assert meter.name == "fid_inception" and meter.kind == "inception"
    assert meter.label.startswith("Fréchet Inception distance")
    assert "as fid_inception" in meter.describe()
    assert meter.sample_count == REAL // 2
    assert meter.extractor.features(digits().images[:1]).shape == (1, 2048)


def test_noise_scores_far_above_the_real_vs_real_floor(meter: QualityMeter) -> None:
    noise = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))

    score = meter.score(noise)

    assert meter.floor >= 0.0 and math.isfinite(score)
    assert score > 5 * meter.floor


def test_each_epoch_of_training_records_fid_inception_and_its_floor(
    meter: QualityMeter, tmp_path: Path
) -> None:
    spec = TrainSpec(model="vae", dataset="digits", epochs=1, batch_size=64)

    result = train(spec, digits(), CPU, Quiet(), tmp_path, quality=lambda: meter)

    (means,) = result.epoch_means
    assert means["fid_inception_floor"] == meter.floor
    assert means["fid_inception"] > meter.floor
    assert "fd_classifier" not in means


def test_an_unusable_file_falls_back_to_the_classifier_metric_with_its_name(
    tmp_path: Path,
) -> None:
    bad = write_safetensors(tmp_path / "bad.safetensors", {"x": torch.zeros(3)})
    warnings: list[str] = []

    meter = build_meter(digits(), tmp_path / "cache", CPU, warnings.append, bad)

    assert meter.name == "fd_classifier"
    (warning,) = warnings
    assert str(bad) in warning and "classifier's instead" in warning
