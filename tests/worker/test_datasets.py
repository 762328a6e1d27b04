"""The pixel readers give [N, C, H, W] floats in [0, 1] from real files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shared.errors import DatasetError
from shared.spec import TrainSpec
from tests.data_paths import cifar_dir, mnist_dir
from worker.datasets import load_images

MNIST_IMAGES = "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = "t10k-labels-idx1-ubyte.gz"


def spec_for(dataset: Path | str, **fields: object) -> TrainSpec:
    return TrainSpec.model_validate({"model": "vae", "dataset": str(dataset), **fields})


def test_mnist_idx_gives_10000_grey_28x28_images_with_labels() -> None:
    data = load_images(spec_for(mnist_dir()))

    assert data.images.shape == (10000, 1, 28, 28)
    assert data.images.dtype == torch.float32
    assert data.images.min() >= 0.0 and data.images.max() == 1.0
    assert data.labels is not None
    assert data.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert data.labels.bincount().tolist()[:3] == [980, 1135, 1032]


def test_raw_idx_reads_the_same_as_gzipped(tmp_path: Path) -> None:
    for name in (MNIST_IMAGES, MNIST_LABELS):
        raw = gzip.decompress((mnist_dir() / name).read_bytes())
        (tmp_path / name.removesuffix(".gz")).write_bytes(raw)

    packed = load_images(spec_for(mnist_dir() / MNIST_IMAGES, max_images=300))
    unpacked = load_images(spec_for(tmp_path, max_images=300))

    assert torch.equal(packed.images, unpacked.images)
    assert unpacked.labels is not None and packed.labels is not None
    assert torch.equal(packed.labels, unpacked.labels)


def test_truncated_idx_is_refused_naming_path_and_sizes(tmp_path: Path) -> None:
    raw = gzip.decompress((mnist_dir() / MNIST_IMAGES).read_bytes())
    cut = tmp_path / "cut-images-idx3-ubyte"
    cut.write_bytes(raw[:5000])

    with pytest.raises(DatasetError) as info:
        load_images(spec_for(cut))

    message = str(info.value)
    assert str(cut) in message and "truncated" in message
    assert "7,840,016 bytes" in message and "5,000 bytes" in message


def test_idx_without_label_file_has_no_labels(tmp_path: Path) -> None:
    shutil.copy(mnist_dir() / MNIST_IMAGES, tmp_path / MNIST_IMAGES)

    data = load_images(spec_for(tmp_path, max_images=10))

    assert data.labels is None
    assert data.images.shape == (10, 1, 28, 28)


def test_idx_resized_to_rgb_32_stays_in_unit_range() -> None:
    spec = spec_for(mnist_dir(), max_images=20, image_size=32, channels=3)

    data = load_images(spec)

    assert data.images.shape == (20, 3, 32, 32)
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert torch.equal(data.images[:, 0], data.images[:, 2])


def test_digits_gives_1797_grey_8x8_images_in_unit_range() -> None:
    data = load_images(spec_for("digits"))

    assert data.images.shape == (1797, 1, 8, 8)
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert data.labels is not None and data.labels.shape == (1797,)


@pytest.mark.parametrize("channels", [1, 3])
def test_cifar_folder_gives_requested_shape_and_class_labels(channels: int) -> None:
    spec = spec_for(cifar_dir(), max_images=250, channels=channels, image_size=28)

    data = load_images(spec)

    assert data.images.shape == (250, channels, 28, 28)
    assert data.labels is not None
    # The subset is class-balanced: 25 of each of the ten classes' 200 images.
    assert data.labels.bincount().tolist() == [25] * 10
    assert "10 class folders" in data.description


def test_folder_defaults_to_rgb_28(tmp_path: Path) -> None:
    Image.new("RGB", (32, 32), (255, 0, 0)).save(tmp_path / "red.png")

    data = load_images(spec_for(tmp_path))

    assert data.images.shape == (1, 3, 28, 28)
    assert data.images[0, :, 14, 14].tolist() == [1.0, 0.0, 0.0]
    assert data.labels is None


def test_mixed_folder_converts_good_images_and_skips_corrupt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Image.new("RGB", (50, 70), (10, 200, 30)).save(tmp_path / "a_rgb.jpg")
    Image.new("L", (100, 30), 128).save(tmp_path / "b_grey.png")
    Image.new("RGBA", (40, 40), (0, 0, 255, 128)).save(tmp_path / "c_rgba.png")
    (tmp_path / "d_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")

    data = load_images(spec_for(tmp_path, image_size=16))

    assert data.images.shape == (3, 3, 16, 16)
    assert "1 file skipped" in data.description
    assert data.report is not None
    assert data.report.skipped == {"unreadable": ["d_corrupt.png"]}
    assert "d_corrupt.png" in caplog.text
    grey = data.images[1, :, 8, 8]
    assert torch.allclose(grey, torch.full((3,), 128 / 255))


def test_folder_of_only_corrupt_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 nothing")

    with pytest.raises(DatasetError) as info:
        load_images(spec_for(tmp_path))

    message = str(info.value)
    assert f"No file in '{tmp_path}' could be used" in message
    assert "1 unreadable (broken.jpg)" in message


def test_centre_crop_keeps_the_middle_of_a_wide_image(tmp_path: Path) -> None:
    pixels = np.zeros((10, 30), np.uint8)
    pixels[:, 10:20] = 255
    Image.fromarray(pixels).save(tmp_path / "wide.png")

    data = load_images(spec_for(tmp_path, image_size=10, channels=1))

    assert data.images.shape == (1, 1, 10, 10)
    assert data.images.min() == 1.0


def test_digits_read_again_are_the_same_even_after_a_job_changed_its_copy() -> None:
    spec = TrainSpec.from_json({"model": "vae", "dataset": "digits"})
    first = load_images(spec)
    expected = first.images.clone()

    first.images.mul_(0)
    first.labels.zero_()  # type: ignore[union-attr]
    again = load_images(spec)

    assert torch.equal(again.images, expected)
    assert again.labels is not None and again.labels[:10].tolist() == list(range(10))
