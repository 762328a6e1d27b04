"""generate() draws the same images for the same seed, whatever the batch, per mode."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shared.errors import JobFailed
from shared.generation import GenerateSpec
from shared.spec import ModelKind, TrainSpec
from worker.artifacts import load_generator
from worker.datasets import load_images
from worker.generation import GenerationResult, generate
from worker.generation.noise import image_noise, image_seed, interpolate_noise
from worker.training import RunInfo, train

CPU = torch.device("cpu")
LATENT = 8
SOURCE = str(uuid.UUID(int=7))
DIGITS = 128  # images in the tiny training set


class Quiet:
    """Training callbacks that ignore everything and never stop a run."""

    def on_start(self, info: RunInfo) -> None: ...

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None: ...

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None: ...

    def should_stop(self) -> bool:
        return False


def digits_spec(model: ModelKind, **fields: object) -> TrainSpec:
    values = {"model": model, "dataset": "digits", "max_images": DIGITS}
    values |= {"epochs": 1, "batch_size": 64, "latent_dim": LATENT}
    return TrainSpec.model_validate({**values, **fields})


class Models:
    """Tiny models trained on digits on first use, one folder per kind."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dirs: dict[str, Path] = {}

    def __getitem__(self, kind: ModelKind) -> Path:
        if kind not in self.dirs:
            # The conv kinds need a side of 28, 32 or 64; digits are 8x8.
            size = {"image_size": 28} if kind == "dcgan" else {}
            spec = digits_spec(kind, **size)
            train(spec, load_images(spec), CPU, Quiet(), self.root / kind)
            self.dirs[kind] = self.root / kind
        return self.dirs[kind]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return Models(tmp_path_factory.mktemp("models"))


def run(model_dir: Path, output_dir: Path, **fields: object) -> GenerationResult:
    spec = GenerateSpec.model_validate({"source": SOURCE, **fields})
    return generate(spec, model_dir, output_dir, CPU)


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.int16)


def png_size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def as_pixels(image: torch.Tensor) -> np.ndarray:
    """An image [1, H, W] in [0, 1] rounded to grey levels as the PNGs are."""
    return image[0].mul(255).round().to(torch.int16).numpy()


# samples


def test_same_seed_gives_identical_grids_and_another_seed_differs(
    models: Models, tmp_path: Path
) -> None:
    first = run(models["gan"], tmp_path / "a", count=16, seed=5)
    again = run(models["gan"], tmp_path / "b", count=16, seed=5)
    other = run(models["gan"], tmp_path / "c", count=16, seed=6)

    assert set(first.grids) == {"samples"}
    assert first.grids["samples"] == again.grids["samples"]
    assert first.grids["samples"] != other.grids["samples"]


def test_image_k_is_the_same_whether_4_or_16_are_drawn(
    models: Models, tmp_path: Path
) -> None:
    many = run(models["dcgan"], tmp_path / "many", count=16, seed=9)
    few = run(models["dcgan"], tmp_path / "few", count=4, seed=9)

    assert [p.read_bytes() for p in few.files] == [
        p.read_bytes() for p in many.files[:4]
    ]


def test_image_7_decoded_alone_from_its_own_noise_matches_its_file(
    models: Models, tmp_path: Path
) -> None:
    result = run(models["dcgan"], tmp_path, count=16, seed=9)
    generator, _, _ = load_generator(models["dcgan"])

    with torch.no_grad():
        alone = generator.sample(image_noise(9, [7], LATENT))[0]

    # A batch of one may take another matrix kernel: equal to float rounding.
    difference = np.abs(as_pixels(alone) - pixels(result.files[7]))
    assert result.files[7].name == "sample_0007.png"
    assert difference.max() <= 1


def test_samples_are_written_as_numbered_pngs_inside_output_dir_only(
    models: Models, tmp_path: Path
) -> None:
    output_dir = tmp_path / "out" / ".." / "out"

    result = run(models["gan"], output_dir, count=3)

    names = [p.name for p in result.files]
    assert names == ["sample_0000.png", "sample_0001.png", "sample_0002.png"]
    assert {p.parent for p in result.files} == {(tmp_path / "out").resolve()}
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["generate.json", *names, "samples.png"]
    assert json.loads((tmp_path / "out" / "generate.json").read_text())["count"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert {Image.open(p).size for p in result.files} == {(8, 8)}


def test_conditional_samples_cycle_classes_like_the_class_grid_columns(
    models: Models, tmp_path: Path
) -> None:
    samples = run(models["cgan"], tmp_path / "s", count=4, seed=2)
    classes = run(models["cgan"], tmp_path / "c", mode="classes", count=4, seed=2)

    # Sample 3 is noise 3 drawn as class 3, as is row 3, column 3 of the grid.
    by_name = {p.name: p for p in classes.files}
    difference = pixels(samples.files[3]) - pixels(by_name["class_03_03.png"])
    assert np.abs(difference).max() <= 1


# interpolate


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_ends_are_image_0_of_seed_and_of_seed_plus_1(
    method: str, models: Models, tmp_path: Path
) -> None:
    strip = run(
        models["gan"],
        tmp_path / "i",
        mode="interpolate",
        seed=3,
        steps=5,
        method=method,
    )
    start = run(models["gan"], tmp_path / "a", count=1, seed=3)
    end = run(models["gan"], tmp_path / "b", count=1, seed=4)

    names = [p.name for p in strip.files]
    assert names == [f"interpolation_{i:02d}.png" for i in range(5)]
    assert png_size(strip.grids["interpolation"]) == (5 * 8 + 6 * 2, 8 + 2 * 2)
    assert np.abs(pixels(strip.files[0]) - pixels(start.files[0])).max() <= 1
    assert np.abs(pixels(strip.files[-1]) - pixels(end.files[0])).max() <= 1


def test_linear_midpoint_is_the_mean_of_the_ends() -> None:
    z_a, z_b = image_noise(3, [0], LATENT)[0], image_noise(4, [0], LATENT)[0]

    path = interpolate_noise(z_a, z_b, 3, "linear")

    assert torch.equal(path[0], z_a) and torch.equal(path[-1], z_b)
    assert torch.allclose(path[1], (z_a + z_b) / 2)


def test_slerp_keeps_norms_between_the_ends_norms_where_a_line_dips() -> None:
    z_a, z_b = image_noise(3, [0], 128)[0], image_noise(4, [0], 128)[0]
    low, high = sorted([float(z_a.norm()), float(z_b.norm())])

    sphere = interpolate_noise(z_a, z_b, 9, "slerp").norm(dim=1)
    line = interpolate_noise(z_a, z_b, 9, "linear").norm(dim=1)

    assert torch.allclose(sphere[[0, -1]], torch.tensor([z_a.norm(), z_b.norm()]))
    assert sphere.min() >= 0.97 * low and sphere.max() <= 1.03 * high
    assert line[4] < 0.8 * low


def test_slerp_of_parallel_noise_falls_back_to_a_straight_line() -> None:
    z = image_noise(0, [0], LATENT)[0]

    path = interpolate_noise(z, 2 * z, 3, "slerp")

    assert torch.allclose(path, interpolate_noise(z, 2 * z, 3, "linear"))


def test_image_noise_depends_only_on_the_seed_and_the_index() -> None:
    row_7 = image_noise(11, [7], LATENT)
    rows = image_noise(11, range(16), LATENT)

    assert torch.equal(row_7[0], rows[7])
    assert image_seed(1, 0) != image_seed(0, 1_000_002)


# reconstruct


def test_reconstruct_puts_originals_above_their_reconstructions(
    models: Models, tmp_path: Path
) -> None:
    indices = [5, 0, 127]

    result = run(models["vae"], tmp_path, mode="reconstruct", indices=indices)

    files = {p.name: p for p in result.files}
    data = load_images(digits_spec("vae"))
    assert png_size(result.grids["reconstructions"]) == (8 * 8 + 9 * 2, 2 * 8 + 3 * 2)
    assert np.array_equal(
        pixels(files["original_0002.png"]), as_pixels(data.images[127])
    )
    assert set(files) == {
        f"{kind}_{k:04d}.png"
        for kind in ("original", "reconstruction")
        for k in range(3)
    }


def test_reconstruct_decodes_the_encoder_mean_so_repeats_agree(
    models: Models, tmp_path: Path
) -> None:
    first = run(models["vae"], tmp_path / "a", mode="reconstruct")
    again = run(models["vae"], tmp_path / "b", mode="reconstruct")

    assert first.grids == again.grids


def test_reconstruct_refuses_a_gan(models: Models, tmp_path: Path) -> None:
    with pytest.raises(
        JobFailed, match=f"reconstruct needs a VAE; job {SOURCE} trained a gan"
    ):
        run(models["gan"], tmp_path, mode="reconstruct")


def test_reconstruct_names_an_index_past_the_dataset_and_its_size(
    models: Models, tmp_path: Path
) -> None:
    with pytest.raises(JobFailed, match=r"Index 500 .* has 128 images"):
        run(models["vae"], tmp_path, mode="reconstruct", indices=[0, 500])

    assert not tmp_path.exists() or not any(tmp_path.iterdir())


# classes


def test_class_grid_has_one_row_per_class_and_16_columns_at_most(
    models: Models, tmp_path: Path
) -> None:
    narrow = run(models["cgan"], tmp_path / "n", mode="classes", count=4)
    wide = run(models["cgan"], tmp_path / "w", mode="classes", count=64)

    rows_high = 10 * 8 + 11 * 2  # digits have 10 classes
    assert png_size(narrow.grids["classes"]) == (4 * 8 + 5 * 2, rows_high)
    assert png_size(wide.grids["classes"]) == (16 * 8 + 17 * 2, rows_high)
    assert len(narrow.files) == 40 and narrow.files[-1].name == "class_09_03.png"


def test_classes_refuses_an_unconditional_model(models: Models, tmp_path: Path) -> None:
    with pytest.raises(JobFailed, match="classes needs a conditional model"):
        run(models["vae"], tmp_path, mode="classes")


# the source model


def test_a_folder_without_a_model_names_the_job_and_the_folder(tmp_path: Path) -> None:
    with pytest.raises(JobFailed, match=f"No trained model for job {SOURCE} in") as err:
        run(tmp_path / "never-trained", tmp_path / "out")

    assert str(tmp_path / "never-trained") in str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_spec_of_another_model_kind_fails_with_the_loaders_message(
    models: Models, tmp_path: Path
) -> None:
    for name in ("model.safetensors", "spec.json"):
        (tmp_path / name).write_bytes((models["gan"] / name).read_bytes())
    document = json.loads((tmp_path / "spec.json").read_text())
    (tmp_path / "spec.json").write_text(json.dumps({**document, "model": "vae"}))

    with pytest.raises(
        JobFailed, match="holds a gan model but spec.json describes a vae"
    ):
        run(tmp_path, tmp_path / "out")
