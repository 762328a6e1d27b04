"""detect_dataset tells dataset kinds apart from names and headers alone."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from shared.datasets import detect_dataset
from shared.errors import DatasetError
from tests.data_paths import mnist_dir

IDX_HEADER = b"\x00\x00\x08\x03" + (1).to_bytes(4, "big") + (2).to_bytes(4, "big") * 2


@pytest.fixture
def folder_path(tmp_path: Path) -> Path:
    """tmp_path resolved, as detect_dataset resolves what it is given."""
    return tmp_path.resolve()


def test_digits_is_recognised_in_any_case() -> None:
    ref = detect_dataset("DiGiTs")

    assert ref.kind == "digits"
    assert ref.path is None
    assert ref.canonical() == "digits"


def test_missing_path_names_the_path_and_what_is_expected(folder_path: Path) -> None:
    missing = folder_path / "nowhere"

    with pytest.raises(DatasetError) as info:
        detect_dataset(str(missing))

    message = str(info.value)
    assert f"'{missing}' does not exist" in message
    assert "give 'digits', 'mnist', 'fashion-mnist' or 'cifar10'" in message


def test_empty_folder_is_refused_naming_the_path(folder_path: Path) -> None:
    with pytest.raises(
        DatasetError, match="holds no PNG/JPEG images, no IDX files and no CIFAR-10"
    ) as info:
        detect_dataset(str(folder_path))

    assert str(folder_path) in str(info.value)


def test_folder_of_only_hidden_and_other_files_has_no_images(folder_path: Path) -> None:
    (folder_path / ".cache").mkdir()
    (folder_path / ".cache" / "a.png").write_bytes(b"png")
    (folder_path / ".b.png").write_bytes(b"png")
    (folder_path / "notes.txt").write_text("hello")

    with pytest.raises(DatasetError, match="no PNG/JPEG images"):
        detect_dataset(str(folder_path))


def test_mnist_folder_is_idx_and_canonical_is_the_file() -> None:
    folder = mnist_dir()

    ref = detect_dataset(str(folder))

    assert ref.kind == "idx"
    assert ref.path == (folder / "t10k-images-idx3-ubyte.gz").resolve()
    assert ref.canonical() == str(ref.path)


def test_folder_with_two_idx_files_prefers_train_and_says_so(folder_path: Path) -> None:
    for name in ("t10k-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        (folder_path / name).write_bytes(IDX_HEADER)

    ref = detect_dataset(str(folder_path))

    assert ref.path == folder_path / "train-images-idx3-ubyte.gz"
    assert "chosen over t10k-images-idx3-ubyte" in ref.description


def test_idx_file_is_recognised_by_name() -> None:
    path = mnist_dir() / "t10k-images-idx3-ubyte.gz"

    assert detect_dataset(str(path)).kind == "idx"


def test_renamed_idx_file_is_recognised_by_magic_even_gzipped(
    folder_path: Path,
) -> None:
    raw, packed = folder_path / "digits.bin", folder_path / "digits.gz"
    raw.write_bytes(IDX_HEADER + bytes(4))
    packed.write_bytes(gzip.compress(IDX_HEADER + bytes(4)))

    assert detect_dataset(str(raw)).kind == "idx"
    assert detect_dataset(str(packed)).kind == "idx"


def test_image_folder_is_found_recursively_with_any_case_suffix(
    folder_path: Path,
) -> None:
    (folder_path / "cats").mkdir()
    (folder_path / "cats" / "a.JPEG").write_bytes(b"not checked here")

    ref = detect_dataset(str(folder_path))

    assert ref.kind == "folder"
    assert ref.path == folder_path


def test_text_file_is_refused_naming_the_path(folder_path: Path) -> None:
    text = folder_path / "readme.txt"
    text.write_text("hello")

    with pytest.raises(DatasetError) as info:
        detect_dataset(str(text))

    assert f"'{text}' is not an MNIST IDX image file, a .npz" in str(info.value)


def test_home_and_relative_paths_become_absolute(
    folder_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder_path / "img").mkdir()
    (folder_path / "img" / "a.png").write_bytes(b"x")
    monkeypatch.setenv("HOME", str(folder_path))
    monkeypatch.chdir(folder_path)

    assert detect_dataset("~/img").canonical() == str(folder_path / "img")
    assert detect_dataset("img").canonical() == str(folder_path / "img")


@pytest.mark.parametrize(
    ("ref", "name"),
    [("MNIST", "mnist"), ("Fashion_MNIST", "fashion-mnist"), ("cifar-10", "cifar10")],
)
def test_dataset_names_are_recognised_without_touching_disk_or_network(
    ref: str, name: str
) -> None:
    detected = detect_dataset(ref)

    assert detected.kind == "named"
    assert detected.path is None
    assert detected.canonical() == name
    assert "downloaded once by the worker" in detected.description


def test_a_folder_named_like_a_dataset_is_reached_through_a_relative_path(
    folder_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder_path / "mnist").mkdir()
    (folder_path / "mnist" / "a.png").write_bytes(b"x")
    monkeypatch.chdir(folder_path)

    assert detect_dataset("mnist").kind == "named"
    assert detect_dataset("./mnist").canonical() == str(folder_path / "mnist")


def test_npz_with_an_image_key_is_npz_and_lists_its_keys(folder_path: Path) -> None:
    path = folder_path / "arrays.npz"
    np.savez(path, x_train=np.zeros((2, 4, 4), np.uint8), x=np.zeros(1))

    ref = detect_dataset(str(path))

    assert ref.kind == "npz"
    assert ref.path == path
    assert "(x, x_train)" in ref.description


def test_npz_without_an_image_key_is_refused_naming_file_and_keys(
    folder_path: Path,
) -> None:
    path = folder_path / "arrays.npz"
    np.savez(path, pictures=np.zeros((2, 4, 4)), classes=np.zeros(2))

    with pytest.raises(DatasetError) as info:
        detect_dataset(str(path))

    message = str(info.value)
    assert f"'{path}' holds no image array" in message
    assert "found keys pictures, classes" in message
    assert "images or x or x_train or arr_0" in message


def test_npz_that_is_not_a_zip_is_refused(folder_path: Path) -> None:
    path = folder_path / "fake.npz"
    path.write_text("not a zip")

    with pytest.raises(DatasetError, match="is not a readable NumPy .npz file"):
        detect_dataset(str(path))


def test_cifar_batches_folder_and_its_parent_are_cifar(folder_path: Path) -> None:
    batches = folder_path / "cifar-10-batches-bin"
    batches.mkdir()
    (batches / "test_batch.bin").write_bytes(bytes(3073))

    from_folder = detect_dataset(str(batches))
    from_parent = detect_dataset(str(folder_path))

    assert from_folder.kind == from_parent.kind == "cifar10-bin"
    assert from_parent.path == batches
    assert "test_batch.bin" in from_parent.description


def test_cifar_training_batches_are_preferred_over_the_test_batch(
    folder_path: Path,
) -> None:
    for name in ("test_batch.bin", "data_batch_2.bin", "data_batch_1.bin"):
        (folder_path / name).write_bytes(bytes(3073))

    ref = detect_dataset(str(folder_path))

    assert ref.description.endswith("(data_batch_1.bin, data_batch_2.bin)")


def test_a_single_cifar_batch_file_is_cifar(folder_path: Path) -> None:
    path = folder_path / "data_batch_3.bin"
    path.write_bytes(bytes(3073))

    assert detect_dataset(str(path)).kind == "cifar10-bin"


def test_system_files_and_macosx_folders_are_not_images(folder_path: Path) -> None:
    (folder_path / "__MACOSX").mkdir()
    (folder_path / "__MACOSX" / "a.png").write_bytes(b"png")
    (folder_path / "Thumbs.db").write_bytes(b"db")

    with pytest.raises(DatasetError, match="no PNG/JPEG images"):
        detect_dataset(str(folder_path))
