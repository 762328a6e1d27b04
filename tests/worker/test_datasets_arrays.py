"""NumPy .npz files and CIFAR-10 binary batches read back exactly, pixel for pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shared.errors import DatasetError
from shared.spec import TrainSpec
from worker.datasets import load_images

RNG = np.random.default_rng(0)


def spec_for(dataset: Path | str, **fields: object) -> TrainSpec:
    return TrainSpec.model_validate({"model": "vae", "dataset": str(dataset), **fields})


def touch_marker(path: str) -> None:
    Path(path).touch()


class Tripwire:
    """Unpickling this creates a file, which proves a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return touch_marker, (str(self.marker),)


def test_npz_hwc_uint8_with_labels_round_trips(tmp_path: Path) -> None:
    pixels = RNG.integers(0, 256, (5, 6, 6, 3), np.uint8)
    labels = np.array([4, 0, 9, 1, 1], np.int32)
    np.savez(tmp_path / "a.npz", images=pixels, labels=labels)

    data = load_images(spec_for(tmp_path / "a.npz"))

    assert data.images.shape == (5, 3, 6, 6)
    restored = (data.images * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    assert torch.equal(restored, torch.from_numpy(pixels))
    assert data.labels is not None and data.labels.tolist() == [4, 0, 9, 1, 1]
    assert "'images': 5 images, 6x6, 3 channels" in data.description


def test_npz_chw_float_without_labels_keeps_values_exactly(tmp_path: Path) -> None:
    pixels = RNG.random((4, 1, 8, 8), np.float32)
    np.savez_compressed(tmp_path / "b.npz", x=pixels)

    data = load_images(spec_for(tmp_path / "b.npz"))

    assert torch.equal(data.images, torch.from_numpy(pixels))
    assert data.labels is None


def test_npz_keras_layout_pairs_x_train_with_y_train(tmp_path: Path) -> None:
    np.savez(
        tmp_path / "mnist.npz",
        x_test=np.zeros((2, 28, 28), np.uint8),
        x_train=np.full((3, 28, 28), 255, np.uint8),
        y_test=np.array([5, 5]),
        y_train=np.array([1, 2, 3]),
    )

    data = load_images(spec_for(tmp_path / "mnist.npz", max_images=2))

    assert data.images.shape == (2, 1, 28, 28)
    assert data.images.min() == 1.0
    assert data.labels is not None and data.labels.tolist() == [1, 2]


def test_npz_positional_array_is_read_as_arr_0(tmp_path: Path) -> None:
    np.savez(tmp_path / "c.npz", np.zeros((2, 5, 5, 1), np.uint8))

    data = load_images(spec_for(tmp_path / "c.npz", image_size=8, channels=3))

    assert data.images.shape == (2, 3, 8, 8)


def test_npz_rgb_to_grey_uses_pillow_luma_weights(tmp_path: Path) -> None:
    pixels = np.zeros((1, 4, 4, 3), np.uint8)
    pixels[..., 0] = 255
    np.savez(tmp_path / "red.npz", images=pixels)

    data = load_images(spec_for(tmp_path / "red.npz", channels=1))

    assert data.images.shape == (1, 1, 4, 4)
    assert torch.allclose(data.images, torch.full((1, 1, 4, 4), 0.299))


def test_npz_wide_images_are_centre_cropped_to_square(tmp_path: Path) -> None:
    pixels = np.zeros((1, 4, 8), np.uint8)
    pixels[:, :, 2:6] = 255
    np.savez(tmp_path / "wide.npz", images=pixels)

    data = load_images(spec_for(tmp_path / "wide.npz"))

    assert data.images.shape == (1, 1, 4, 4)
    assert data.images.min() == 1.0


def test_npz_image_key_of_wrong_shape_is_refused_with_what_was_found(
    tmp_path: Path,
) -> None:
    path = tmp_path / "flat.npz"
    np.savez(path, images=np.zeros((10, 784), np.uint8), labels=np.zeros(10))

    with pytest.raises(DatasetError) as info:
        load_images(spec_for(path))

    message = str(info.value)
    assert f"No image array in '{path}' fits: found images [10, 784] uint8" in message
    assert "[N, H, W], [N, H, W, C] or [N, C, H, W]" in message


def test_npz_without_image_keys_is_refused_naming_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "odd.npz"
    np.savez(path, data=np.zeros((2, 4, 4)), target=np.zeros(2))

    with pytest.raises(DatasetError, match="found keys data, target"):
        load_images(spec_for(path))


def test_npz_pickled_object_array_is_refused_and_never_unpickled(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.npz"
    np.savez(path, images=np.array([Tripwire(marker)], dtype=object))

    with pytest.raises(DatasetError) as info:
        load_images(spec_for(path))

    assert "stores 'images' as a pickled object array" in str(info.value)
    assert not marker.exists()


def test_npz_floats_outside_unit_range_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "raw.npz"
    np.savez(path, images=np.full((2, 4, 4), 255.0))

    with pytest.raises(DatasetError, match="holds floats from 255 to 255"):
        load_images(spec_for(path))


def test_npz_bad_labels_are_dropped_not_fatal(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", x=np.zeros((3, 4, 4), np.uint8), y=np.zeros(2))

    data = load_images(spec_for(tmp_path / "d.npz"))

    assert data.labels is None


def cifar_records(labels: list[int]) -> tuple[bytes, np.ndarray]:
    """CIFAR-10 records built by hand, with the [N, 3, 32, 32] pixels they hold."""
    pixels = RNG.integers(0, 256, (len(labels), 3, 32, 32), np.uint8)
    raw = b"".join(
        bytes([label]) + image[0].tobytes() + image[1].tobytes() + image[2].tobytes()
        for label, image in zip(labels, pixels, strict=True)
    )
    return raw, pixels


def test_cifar_records_round_trip_pixels_and_labels_exactly(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    raw, pixels = cifar_records([3, 0, 9])
    (folder / "data_batch_1.bin").write_bytes(raw)

    data = load_images(spec_for(tmp_path))

    assert data.images.shape == (3, 3, 32, 32)
    restored = (data.images * 255).round().to(torch.uint8)
    assert torch.equal(restored, torch.from_numpy(pixels))
    assert data.labels is not None and data.labels.tolist() == [3, 0, 9]
    # Byte 1 of a record is the top-left red value, byte 1,025 its green.
    assert restored[0, :, 0, 0].tolist() == [raw[1], raw[1025], raw[2049]]


def test_cifar_max_images_spans_batches_in_order(tmp_path: Path) -> None:
    first, _ = cifar_records([1, 2, 3])
    second, _ = cifar_records([4, 5, 6])
    (tmp_path / "data_batch_1.bin").write_bytes(first)
    (tmp_path / "data_batch_2.bin").write_bytes(second)
    (tmp_path / "test_batch.bin").write_bytes(cifar_records([7])[0])

    data = load_images(spec_for(tmp_path, max_images=4))

    assert data.labels is not None and data.labels.tolist() == [1, 2, 3, 4]


def test_cifar_test_batch_alone_is_read(tmp_path: Path) -> None:
    (tmp_path / "test_batch.bin").write_bytes(cifar_records([8, 8])[0])

    data = load_images(spec_for(tmp_path, channels=1, image_size=16))

    assert data.images.shape == (2, 1, 16, 16)
    assert "test_batch.bin" in data.description


def test_truncated_cifar_batch_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(cifar_records([1, 2, 3])[0][:-10])

    with pytest.raises(DatasetError) as info:
        load_images(spec_for(tmp_path))

    message = str(info.value)
    assert f"CIFAR-10 batch '{path}' is 9,209 bytes" in message
    assert "not a whole number of 3,073-byte records" in message
