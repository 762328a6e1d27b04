"""Named datasets come from a checked cache; no test here touches the network."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from shared import downloads
from shared.downloads import NamedDataset, RemoteFile, Split, fetch
from shared.errors import DatasetError
from shared.spec import TrainSpec
from tests.data_paths import mnist_dir
from worker.arrays import read_cifar
from worker.datasets import load_images

MNIST_TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def spec_for(dataset: str, **fields: object) -> TrainSpec:
    return TrainSpec.model_validate({"model": "vae", "dataset": dataset, **fields})


def never(url: str, known_hash: str, target: Path) -> None:
    raise AssertionError(f"downloaded {url}")


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every download asked for; each fails as it would on a machine offline."""
    asked: list[str] = []

    def offline(url: str, known_hash: str, target: Path) -> None:
        asked.append(url)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(downloads, "download_file", offline)
    return asked


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(downloads.CACHE_ENV, str(tmp_path))
    return tmp_path


def test_mnist_uses_the_cached_test_split_when_training_files_are_missing(
    cache: Path, attempts: list[str]
) -> None:
    (cache / "mnist").mkdir()
    for name in MNIST_TEST:
        shutil.copy(mnist_dir() / name, cache / "mnist" / name)

    data = load_images(spec_for("mnist", max_images=100))

    assert data.images.shape == (100, 1, 28, 28)
    assert data.labels is not None and data.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert data.description.startswith("MNIST: MNIST IDX")
    assert "test split only: the training split is not in" in data.description
    assert all("train-" in url for url in attempts)


def test_corrupted_cached_file_is_refused_naming_file_and_hash(
    cache: Path, attempts: list[str]
) -> None:
    (cache / "mnist").mkdir()
    shutil.copy(mnist_dir() / MNIST_TEST[1], cache / "mnist" / MNIST_TEST[1])
    good = (mnist_dir() / MNIST_TEST[0]).read_bytes()
    corrupted = cache / "mnist" / MNIST_TEST[0]
    corrupted.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))

    with pytest.raises(DatasetError) as info:
        load_images(spec_for("mnist"))

    message = str(info.value)
    assert f"Cached file {corrupted} does not match its published checksum" in message
    assert "expected md5:9fb629c4189551a2d022fa330f9573f3" in message


def test_empty_cache_offline_names_the_files_and_the_folder(
    cache: Path, attempts: list[str]
) -> None:
    with pytest.raises(DatasetError) as info:
        load_images(spec_for("mnist"))

    message = str(info.value)
    assert message.startswith("Cannot download MNIST (OSError: network disabled")
    assert (
        "Place train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz "
        "(training split) or t10k-images-idx3-ubyte.gz and "
        "t10k-labels-idx1-ubyte.gz (test split) "
        f"in {cache / 'mnist'}/ and submit again, or give a path."
    ) in message
    assert len(attempts) == 8  # four files, two mirrors each


def test_cifar10_offline_names_the_archive(cache: Path, attempts: list[str]) -> None:
    with pytest.raises(DatasetError) as info:
        load_images(spec_for("cifar10"))

    assert (
        f"Place cifar-10-binary.tar.gz in {cache / 'cifar10'}/ and submit again"
    ) in str(info.value)
    assert attempts == ["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]


def test_downloaded_files_are_used_and_a_failing_mirror_is_passed_over(
    tmp_path: Path,
) -> None:
    def second_mirror_only(url: str, known_hash: str, target: Path) -> None:
        if "ossci" in url or "train-" in url:
            raise OSError("unreachable")
        shutil.copy(mnist_dir() / target.name, target)

    fetched = fetch(
        downloads.NAMED["mnist"], cache=tmp_path, download=second_mirror_only
    )

    assert fetched.path == tmp_path / "mnist" / MNIST_TEST[0]
    assert (tmp_path / "mnist" / MNIST_TEST[1]).is_file()
    assert "test split only" in fetched.note


def test_a_complete_cached_split_needs_no_download(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    for name in MNIST_TEST:
        shutil.copy(mnist_dir() / name, tmp_path / "mnist" / name)
    only_test = NamedDataset(
        "mnist",
        "MNIST",
        ("https://example.invalid/",),
        downloads.NAMED["mnist"].splits[1:],
    )

    fetched = fetch(only_test, cache=tmp_path, download=never)

    assert fetched.path.name == MNIST_TEST[0]
    assert fetched.note == ""


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_cifar_archive_is_checked_unpacked_once_and_cannot_escape(
    tmp_path: Path,
) -> None:
    record = bytes([6]) + bytes(range(256)) * 12
    archive = tar_gz(
        {
            "cifar-10-batches-bin/test_batch.bin": record,
            "cifar-10-batches-bin/readme.html": b"<p>",
            "cifar-10-batches-bin/../../escaped.bin": b"x",
            "/tmp/absolute.bin": b"x",
        }
    )
    digest = hashlib.md5(archive).hexdigest()
    remote = RemoteFile("tiny.tar.gz", f"md5:{digest}")
    dataset = NamedDataset(
        "tiny",
        "Tiny",
        ("https://example.invalid/",),
        (Split("whole", (remote,), "cifar-10-batches-bin"),),
    )
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "tiny.tar.gz").write_bytes(archive)

    fetched = fetch(dataset, cache=tmp_path, download=never)
    again = fetch(dataset, cache=tmp_path, download=never)

    assert fetched.path == again.path == tmp_path / "tiny" / "cifar-10-batches-bin"
    assert sorted(p.name for p in fetched.path.iterdir()) == [
        "readme.html",
        "test_batch.bin",
    ]
    assert sorted(p.name for p in (tmp_path / "tiny").iterdir()) == [
        "cifar-10-batches-bin",
        "tiny.tar.gz",
    ]
    assert not (tmp_path / "escaped.bin").exists()
    assert read_cifar(fetched.path, None).labels is not None


def test_cache_defaults_under_the_user_cache_and_follows_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(downloads.CACHE_ENV, raising=False)
    default = downloads.cache_root()
    monkeypatch.setenv(downloads.CACHE_ENV, str(tmp_path))

    assert default.parts[-2:] == ("genqueue", "datasets")
    assert downloads.cache_root() == tmp_path
