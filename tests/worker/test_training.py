"""train() runs epochs, reports through callbacks, saves, stops and fails cleanly."""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from PIL import Image

from shared.errors import JobFailed
from shared.spec import ModelKind, TrainSpec
from tests.data_paths import mnist_dir
from worker.artifacts import load_generator, save_model
from worker.datasets import ImageSet, load_images
from worker.models.gan import GAN
from worker.training import RunInfo, TrainingDiverged, TrainResult, train

CPU = torch.device("cpu")
GRID_64 = 8 * 28 + 9 * 2  # an 8x8 grid of 28-pixel images with 2-pixel padding


@functools.cache
def mnist(count: int) -> ImageSet:
    return load_images(
        TrainSpec(model="vae", dataset=str(mnist_dir()), max_images=count)
    )


def make_spec(model: ModelKind, **fields: object) -> TrainSpec:
    values = {"model": model, "dataset": "mnist", "epochs": 2, "batch_size": 64}
    return TrainSpec.model_validate({**values, "latent_dim": 8, **fields})


@dataclass
class Recorder:
    """Callbacks that remember everything and stop after `stop_after` steps."""

    stop_after: int | None = None
    info: RunInfo | None = None
    steps: list[tuple[int, int, dict[str, float]]] = field(default_factory=list)
    epochs: list[tuple[int, dict[str, float], dict[str, bytes]]] = field(
        default_factory=list
    )

    def on_start(self, info: RunInfo) -> None:
        self.info = info

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None:
        self.steps.append((epoch, step, losses))

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None:
        self.epochs.append((epoch, means, images))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.steps) >= self.stop_after


def png_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


@pytest.mark.parametrize(
    ("model", "image_names"),
    [("vae", {"samples", "reconstructions"}), ("gan", {"samples"})],
)
def test_train_reports_every_step_and_epoch_and_saves_a_loadable_model(
    model: ModelKind, image_names: set[str], tmp_path: Path
) -> None:
    spec, recorder = make_spec(model, batch_size=100), Recorder()

    result = train(spec, mnist(256), CPU, recorder, tmp_path)

    assert recorder.info is not None and recorder.info.steps_per_epoch == 3
    assert recorder.info.image_shape == (1, 28, 28)
    steps = 2 * math.ceil(256 / 100)
    assert [s for _, s, _ in recorder.steps] == list(range(1, steps + 1))
    assert [e for e, _, _ in recorder.epochs] == [1, 2]
    for _, _, images in recorder.epochs:
        assert set(images) == image_names
        assert {png_size(png) for png in images.values()} == {(GRID_64, GRID_64)}
    assert result == TrainResult(
        epochs_completed=2,
        steps=steps,
        stopped=False,
        model_path=tmp_path / "model.safetensors",
        epoch_means=[means for _, means, _ in recorder.epochs],
    )
    generator, saved_spec, shape = load_generator(tmp_path)
    samples = generator.sample(torch.randn(5, 8))
    assert saved_spec == spec and shape == (1, 28, 28)
    assert samples.shape == (5, 1, 28, 28)
    assert samples.min() >= 0.0 and samples.max() <= 1.0


def test_vae_epoch_mean_loss_falls_over_three_epochs(tmp_path: Path) -> None:
    spec, recorder = make_spec("vae", epochs=3), Recorder()

    result = train(spec, mnist(512), CPU, recorder, tmp_path)

    losses = [means["loss"] for means in result.epoch_means]
    assert set(result.epoch_means[0]) == {"loss", "reconstruction", "kl"}
    assert losses[-1] < losses[0] * 0.8


def test_same_seed_gives_the_same_losses(tmp_path: Path) -> None:
    first, second = Recorder(), Recorder()
    spec = make_spec("gan", epochs=1)

    train(spec, mnist(256), CPU, first, tmp_path / "a")
    train(spec, mnist(256), CPU, second, tmp_path / "b")

    assert first.steps == second.steps


def test_should_stop_ends_the_run_without_saving(tmp_path: Path) -> None:
    recorder = Recorder(stop_after=3)

    result = train(make_spec("gan", batch_size=32), mnist(256), CPU, recorder, tmp_path)

    assert result.stopped and result.steps == 3 and result.epochs_completed == 0
    assert len(recorder.steps) == 3 and recorder.epochs == []
    assert not result.model_path.exists()


def test_batch_larger_than_dataset_is_one_batch(tmp_path: Path) -> None:
    recorder = Recorder()

    train(
        make_spec("vae", batch_size=4096, epochs=1), mnist(40), CPU, recorder, tmp_path
    )

    assert recorder.info is not None and recorder.info.steps_per_epoch == 1
    assert len(recorder.steps) == 1


@pytest.mark.parametrize("model", ["vae", "gan"])
def test_nan_pixels_raise_training_diverged_at_step_one(
    model: ModelKind, tmp_path: Path
) -> None:
    images = mnist(64).images.clone()
    images[:, :, 0, 0] = float("nan")
    data = ImageSet(images, None, "poisoned")

    with pytest.raises(TrainingDiverged, match=r"at step 1: \w+ is nan") as info:
        train(make_spec(model, lr=0.01), data, CPU, Recorder(), tmp_path)

    assert isinstance(info.value, JobFailed)
    assert "lower the learning rate (now 0.01)" in str(info.value)


def edit_spec_json(folder: Path, old: str, new: str) -> None:
    path = folder / "spec.json"
    path.write_text(path.read_text().replace(old, new))


def test_loading_weights_of_another_kind_fails_clearly(tmp_path: Path) -> None:
    save_model(GAN((1, 28, 28), 8), make_spec("gan"), (1, 28, 28), tmp_path)
    edit_spec_json(tmp_path, '"gan"', '"vae"')

    with pytest.raises(JobFailed, match="holds a gan model but spec.json .* a vae"):
        load_generator(tmp_path)


def test_loading_weights_of_another_shape_fails_clearly(tmp_path: Path) -> None:
    save_model(GAN((1, 28, 28), 8), make_spec("gan"), (1, 28, 28), tmp_path)
    edit_spec_json(tmp_path, "28", "32")

    with pytest.raises(JobFailed, match="do not fit a gan for images \\(1, 32, 32\\)"):
        load_generator(tmp_path)


def test_loading_from_an_empty_folder_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(JobFailed, match="Cannot read the model spec"):
        load_generator(tmp_path)
