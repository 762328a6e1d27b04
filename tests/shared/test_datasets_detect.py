"""detect_dataset tells dataset kinds apart from names and headers alone."""

from __future__ import annotations

import gzip
from pathlib import Path

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
    assert "'digits', an MNIST IDX file" in message


def test_empty_folder_is_refused_naming_the_path(folder_path: Path) -> None:
    with pytest.raises(
        DatasetError, match="holds no PNG/JPEG images and no IDX"
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

    assert f"'{text}' is not an MNIST IDX image file" in str(info.value)


def test_home_and_relative_paths_become_absolute(
    folder_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (folder_path / "img").mkdir()
    (folder_path / "img" / "a.png").write_bytes(b"x")
    monkeypatch.setenv("HOME", str(folder_path))
    monkeypatch.chdir(folder_path)

    assert detect_dataset("~/img").canonical() == str(folder_path / "img")
    assert detect_dataset("img").canonical() == str(folder_path / "img")
