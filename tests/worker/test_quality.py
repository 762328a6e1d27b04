"""The Fréchet distance is right on Gaussians, and the meter ranks real models."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from shared.spec import TrainSpec
from tests.data_paths import mnist_dir
from worker.artifacts import load_generator
from worker.datasets import ImageSet, load_images
from worker.models import build_model, generative_part
from worker.quality import (
    FeatureExtractor,
    QualityMeter,
    dataset_key,
    draw_samples,
    frechet_distance,
    frechet_from_samples,
    frechet_from_stats,
    sample_gaussian,
)
from worker.quality import features as features_module
from worker.quality.network import FEATURE_DIM
from worker.training import RunInfo, train

CPU = torch.device("cpu")
GENERATED = 500


class Quiet:
    """Training callbacks that listen to nothing and never stop the run."""

    def on_start(self, info: RunInfo) -> None:
        pass

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None:
        pass

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None:
        pass

    def should_stop(self) -> bool:
        return False


@functools.cache
def mnist() -> ImageSet:
    return load_images(
        TrainSpec(model="vae", dataset=str(mnist_dir()), max_images=2000)
    )


@functools.cache
def digits() -> ImageSet:
    return load_images(TrainSpec(model="vae", dataset="digits"))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quality-cache")


@pytest.fixture(scope="module")
def mnist_meter(cache_dir: Path) -> QualityMeter:
    return QualityMeter.for_dataset(mnist(), cache_dir)


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to train a classifier fail the test."""

    def refuse(*args: object) -> None:
        raise AssertionError("the classifier was trained again")

    monkeypatch.setattr(features_module, "train_classifier", refuse)


def gaussian(count: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, dim))


# The distance itself


def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    a = gaussian(2000, 16, seed=0)

    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_is_symmetric() -> None:
    a, b = gaussian(1000, 16, seed=0), 2.0 * gaussian(800, 16, seed=1) + 0.3

    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_shifted_gaussians_are_apart_by_the_squared_shift() -> None:
    a = gaussian(1000, 8, seed=0)
    shift = np.linspace(-1.0, 2.0, 8)

    distance = frechet_distance(a, a + shift)

    assert distance == pytest.approx(float(shift @ shift), rel=1e-8)


def test_diagonal_covariances_match_the_closed_form() -> None:
    zeros = np.zeros(2)
    sigma_a, sigma_b = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])

    distance = frechet_from_stats(zeros, sigma_a, zeros, sigma_b)

    # sum over dimensions of (sqrt(a_i) - sqrt(b_i))^2 = (1 - 2)^2 + (2 - 3)^2
    assert distance == pytest.approx(2.0, rel=1e-9)


@pytest.mark.parametrize(("count", "dim"), [(400, 16), (40, 300)])
def test_distance_from_samples_equals_the_distance_from_covariances(
    count: int, dim: int
) -> None:
    a, b = gaussian(count, dim, seed=0), 1.5 * gaussian(count + 7, dim, seed=1) + 0.2

    from_samples = frechet_from_samples(sample_gaussian(a), sample_gaussian(b))

    assert from_samples == pytest.approx(frechet_distance(a, b), rel=1e-6)


def test_distance_from_samples_of_a_set_with_itself_is_zero() -> None:
    a = sample_gaussian(gaussian(50, 2048, seed=0))

    assert frechet_from_samples(a, a) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_frechet_distance_is_never_negative_with_fewer_samples_than_dimensions(
    seed: int,
) -> None:
    a, b = gaussian(10, 32, seed), gaussian(12, 32, seed + 100)

    same, other = frechet_distance(a, a), frechet_distance(a, b)

    assert 0.0 <= same < 1e-3
    assert other > 0.0 and np.isfinite(other)


def test_a_large_imaginary_square_root_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    a = gaussian(100, 4, seed=0)
    monkeypatch.setattr(
        "scipy.linalg.sqrtm", lambda m: np.asarray(m, dtype=complex) * (1 + 1j)
    )

    with pytest.raises(ValueError, match="imaginary part"):
        frechet_distance(a, a)


def test_non_finite_features_are_refused() -> None:
    a = gaussian(100, 4, seed=0)
    a[3, 1] = np.nan

    with pytest.raises(ValueError, match="NaN or infinite"):
        frechet_distance(a, a)


# The meter on real data


def test_meter_ranks_real_below_a_briefly_trained_vae_below_an_untrained_one(
    mnist_meter: QualityMeter, tmp_path: Path
) -> None:
    spec = TrainSpec.model_validate(
        {
            "model": "vae",
            "dataset": "mnist",
            "epochs": 2,
            "batch_size": 64,
            "latent_dim": 8,
        }
    )
    train(spec, mnist(), CPU, Quiet(), tmp_path)
    trained, _, _ = load_generator(tmp_path)
    torch.manual_seed(0)
    untrained = generative_part(build_model("vae", (1, 28, 28), 8).eval())

    trained_score = mnist_meter.score(draw_samples(trained, GENERATED, seed=1))
    untrained_score = mnist_meter.score(draw_samples(untrained, GENERATED, seed=1))

    assert 0.0 < mnist_meter.floor < trained_score < untrained_score
    assert mnist_meter.sample_count == GENERATED


def test_meter_is_named_fd_classifier_and_says_lower_is_better(
    mnist_meter: QualityMeter,
) -> None:
    assert mnist_meter.name == "fd_classifier"
    assert mnist_meter.kind == "classifier"
    assert mnist_meter.label == (
        "Fréchet distance (small classifier features, lower is better)"
    )


def test_other_real_images_score_near_the_floor(
    mnist_meter: QualityMeter,
) -> None:
    held_back = mnist().images[-GENERATED:]

    score = mnist_meter.score(held_back)

    assert score < 3 * mnist_meter.floor


def test_second_for_dataset_loads_the_cached_net_without_training(
    mnist_meter: QualityMeter, cache_dir: Path, no_training: None
) -> None:
    images = mnist().images[:200]

    again = FeatureExtractor.for_dataset(mnist(), cache_dir)

    assert torch.equal(again.features(images), mnist_meter.extractor.features(images))


def test_cached_net_is_safetensors_with_a_json_record(
    mnist_meter: QualityMeter, cache_dir: Path
) -> None:
    key = dataset_key(mnist())

    with safe_open(str(cache_dir / f"{key}.safetensors"), framework="pt") as weights:
        kind = (weights.metadata() or {}).get("kind")
    record = json.loads((cache_dir / f"{key}.json").read_text())

    assert kind == "classifier"
    assert record["kind"] == "classifier" and record["image_shape"] == [1, 28, 28]
    assert record["train_images"] == 1600 and record["held_out_images"] == 400
    assert 0.8 < record["held_out_accuracy"] <= 1.0


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    data = ImageSet(torch.rand(20, 1, 8, 8), None, "noise")
    first = FeatureExtractor.for_dataset(data, tmp_path)
    weights = tmp_path / f"{dataset_key(data)}.safetensors"
    weights.write_bytes(b"not weights")

    rebuilt = FeatureExtractor.for_dataset(data, tmp_path)

    assert torch.equal(rebuilt.features(data.images), first.features(data.images))
    with safe_open(str(weights), framework="pt") as reread:
        assert len(list(reread.keys())) > 0


def test_digits_classifier_beats_chance_by_far_at_8_by_8_pixels(
    cache_dir: Path,
) -> None:
    meter = QualityMeter.for_dataset(digits(), cache_dir)

    noise_score = meter.score(torch.rand(GENERATED, 1, 8, 8))

    accuracy = meter.extractor.record.held_out_accuracy
    assert accuracy is not None and accuracy > 0.8
    assert meter.floor < noise_score


def test_unlabelled_data_falls_back_to_random_features_and_says_so(
    tmp_path: Path, no_training: None
) -> None:
    data = ImageSet(digits().images, None, "digits without labels")

    meter = QualityMeter.for_dataset(data, tmp_path)

    assert meter.kind == "random" and meter.name == "fd_classifier"
    assert "random features" in meter.label
    assert meter.extractor.record.held_out_accuracy is None
    assert meter.floor < meter.score(torch.rand(GENERATED, 1, 8, 8))


# Shapes, keys and samples


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 28, 28), (1, 32, 32), (3, 64, 64)])
def test_features_have_the_same_width_for_any_supported_image_shape(
    shape: tuple[int, int, int], tmp_path: Path
) -> None:
    data = ImageSet(torch.rand(20, *shape), None, f"noise {shape}")

    extractor = FeatureExtractor.for_dataset(data, tmp_path)

    assert extractor.features(data.images).shape == (20, FEATURE_DIM)


def test_features_refuse_images_of_another_shape(tmp_path: Path) -> None:
    data = ImageSet(torch.rand(20, 1, 8, 8), None, "noise")
    extractor = FeatureExtractor.for_dataset(data, tmp_path)

    with pytest.raises(ValueError, match=r"fitted to images \(1, 8, 8\)"):
        extractor.features(torch.rand(4, 1, 28, 28))


def test_dataset_key_changes_when_one_pixel_does() -> None:
    images = digits().images.clone()
    before = dataset_key(ImageSet(images, None, "digits"))

    images[0, 0, 3, 3] += 0.5

    assert dataset_key(ImageSet(images, None, "digits")) != before


def test_a_key_that_is_not_a_file_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot name a file"):
        FeatureExtractor.for_dataset(digits(), tmp_path, key="../elsewhere")


def test_draw_samples_gives_the_same_images_for_the_same_seed() -> None:
    torch.manual_seed(0)
    generator = generative_part(build_model("vae", (1, 8, 8), 4).eval())

    first, second = (
        draw_samples(generator, 300, seed=3),
        draw_samples(generator, 300, 3),
    )

    assert first.shape == (300, 1, 8, 8) and torch.equal(first, second)
