"""The named datasets (mnist, fashion-mnist, cifar10), fetched once into a cache.

Each file is checked against the checksum its publishers give (the md5 values
torchvision pins for MNIST and Fashion-MNIST, the Toronto page's md5 for CIFAR-10)
before it is used, whether it was downloaded or copied into the cache by hand, so a
worker with no network can be given the files by a person.

A name means the training split. When the training files are neither in the cache
nor downloadable but the test split's are in the cache, the test split is used and
the returned note says so; the job's description carries that note.

Nothing here imports pooch until a file is checked or fetched, so the desktop app,
which only asks whether a name is known, does not pay for it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from shared.errors import DatasetError

logger = logging.getLogger(__name__)

CACHE_ENV = "GENQUEUE_DATA_CACHE"

# (url, known hash as pooch writes it, file to write); raises on any failure.
Downloader = Callable[[str, str, Path], None]


@dataclass(frozen=True)
class RemoteFile:
    name: str
    known_hash: str


@dataclass(frozen=True)
class Split:
    """The files one split needs, and the path the readers open once they are in."""

    name: str
    files: tuple[RemoteFile, ...]
    opens: str


@dataclass(frozen=True)
class NamedDataset:
    key: str
    title: str
    mirrors: tuple[str, ...]
    splits: tuple[Split, ...]  # preferred first

    def describe(self) -> str:
        return f"{self.title} (downloaded once by the worker into its dataset cache)"


@dataclass(frozen=True)
class Fetched:
    """A named dataset on local disk: the path to read and a note for people."""

    path: Path
    title: str
    note: str = ""


# The md5 values torchvision pins in torchvision/datasets/mnist.py for MNIST and
# Fashion-MNIST, and the one the CIFAR-10 page gives beside its binary archive.
PUBLISHED_MD5 = {
    "mnist/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "mnist/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "mnist/t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "mnist/t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "fashion-mnist/train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "fashion-mnist/train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "fashion-mnist/t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    "cifar10/cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530",
}
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-bin"


def _remote(key: str, name: str) -> RemoteFile:
    return RemoteFile(name, "md5:" + PUBLISHED_MD5[f"{key}/{name}"])


def _idx_dataset(key: str, title: str, mirrors: tuple[str, ...]) -> NamedDataset:
    splits = []
    for split, prefix in (("training", "train"), ("test", "t10k")):
        images = f"{prefix}-images-idx3-ubyte.gz"
        labels = f"{prefix}-labels-idx1-ubyte.gz"
        files = (_remote(key, images), _remote(key, labels))
        splits.append(Split(split, files, images))
    return NamedDataset(key, title, mirrors, tuple(splits))


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FASHION_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
_CIFAR_SPLIT = Split("whole", (_remote("cifar10", CIFAR_ARCHIVE),), CIFAR_FOLDER)
NAMED: dict[str, NamedDataset] = {
    "mnist": _idx_dataset("mnist", "MNIST", _MNIST_MIRRORS),
    "fashion-mnist": _idx_dataset("fashion-mnist", "Fashion-MNIST", _FASHION_MIRRORS),
    "cifar10": NamedDataset(
        "cifar10", "CIFAR-10", ("https://www.cs.toronto.edu/~kriz/",), (_CIFAR_SPLIT,)
    ),
}
_ALIASES = {"fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}


class _DownloadFailed(Exception):
    """Every mirror failed for one file; the message says how the last one did."""


class _Unavailable(Exception):
    """A split whose files are not in the cache and could not be downloaded."""

    def __init__(self, split: Split, missing: list[str], reason: str) -> None:
        super().__init__(reason)
        self.split = split
        self.missing = missing
        self.reason = reason


def named_dataset(ref: str) -> NamedDataset | None:
    """Return the named dataset `ref` stands for ('MNIST', 'fashion_mnist', ...)."""
    key = ref.strip().lower().replace("_", "-")
    return NAMED.get(_ALIASES.get(key, key))


def cache_root() -> Path:
    """The folder holding one subfolder per named dataset.

    Read when a job needs it, not at import, so a worker started with a new
    GENQUEUE_DATA_CACHE uses it.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("genqueue")) / "datasets"


def download_file(url: str, known_hash: str, target: Path) -> None:
    """Download `url` to `target` through pooch, which checks the hash first."""
    import pooch

    pooch.retrieve(
        url, known_hash, fname=target.name, path=target.parent, progressbar=False
    )


def fetch(
    dataset: NamedDataset,
    *,
    cache: Path | None = None,
    download: Downloader | None = None,
) -> Fetched:
    """Make the preferred available split of `dataset` local and checked.

    Raises DatasetError naming the files to place, and where, when no split can be
    had, and when a cached file does not match its checksum.
    """
    folder = _make_folder((cache or cache_root()) / dataset.key)
    failures: list[_Unavailable] = []
    for split in dataset.splits:
        try:
            path = _ensure_split(dataset, split, folder, download or download_file)
        except _Unavailable as exc:
            failures.append(exc)
            continue
        note = _fallback_note(folder, split, failures)
        return Fetched(path, dataset.title, note)
    raise _offline_error(dataset, folder, failures)


def _make_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"Cannot create the dataset cache folder {folder} ({exc.strerror}); "
            f"set {CACHE_ENV} to a folder this worker can write."
        ) from None
    return folder


def _ensure_split(
    dataset: NamedDataset, split: Split, folder: Path, download: Downloader
) -> Path:
    missing: list[str] = []
    reason = ""
    for file in split.files:
        try:
            _ensure_file(dataset, file, folder / file.name, download)
        except _DownloadFailed as exc:
            missing.append(file.name)
            reason = str(exc)
    if missing:
        raise _Unavailable(split, missing, reason)

    for file in split.files:
        if file.name.endswith(".tar.gz"):
            _unpack(folder / file.name, folder, split.opens)
    return folder / split.opens


def _ensure_file(
    dataset: NamedDataset, file: RemoteFile, target: Path, download: Downloader
) -> None:
    if target.is_file():
        verify(target, file.known_hash)
        return

    reason = "no mirror"
    for mirror in dataset.mirrors:
        url = mirror + file.name
        try:
            download(url, file.known_hash, target)
        # requests' errors are OSErrors; pooch raises ValueError on a bad hash.
        except (OSError, ValueError) as exc:
            reason = _short(exc)
            logger.warning("cannot download %s: %s", url, reason)
            continue
        logger.info("downloaded %s into %s", url, target.parent)
        return
    raise _DownloadFailed(reason)


def verify(path: Path, known_hash: str) -> None:
    """Raise DatasetError unless the file at `path` has the hash 'alg:hex' given."""
    import pooch

    alg, expected = known_hash.split(":", 1)
    actual = pooch.file_hash(str(path), alg=alg)
    if actual != expected:
        raise DatasetError(
            f"Cached file {path} does not match its published checksum "
            f"(expected {known_hash}, found {alg}:{actual}); delete it and submit "
            "again to download a fresh copy, or put a good copy in its place."
        )


def _unpack(archive: Path, folder: Path, member_dir: str) -> None:
    """Extract the regular files under `member_dir`, once, through a staging folder.

    Only those files are written, each by its bare name, so a crafted archive
    cannot write outside the cache; a crash or a second worker unpacking at the
    same time leaves no half folder behind.
    """
    final = folder / member_dir
    if final.is_dir():
        return

    staging = Path(tempfile.mkdtemp(prefix=f".{member_dir}-", dir=folder))
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            name = _member_name(member, member_dir)
            source = tar.extractfile(member) if name else None
            if name and source is not None:
                with (staging / name).open("wb") as target:
                    shutil.copyfileobj(source, target)
    try:
        staging.rename(final)
    except OSError:
        shutil.rmtree(staging)  # another worker finished first; keep its folder
    logger.info("unpacked %s into %s", archive.name, final)


def _member_name(member: tarfile.TarInfo, member_dir: str) -> str | None:
    """The bare name of a regular file directly under `member_dir`, else None."""
    parts = Path(member.name).parts
    is_wanted = member.isfile() and parts[:-1] == (member_dir,)
    return parts[-1] if is_wanted and parts[-1] != ".." else None


def _fallback_note(folder: Path, used: Split, failures: list[_Unavailable]) -> str:
    if not failures:
        return ""
    skipped = " and ".join(f.split.name for f in failures)
    logger.warning("using the %s split: the %s split is missing", used.name, skipped)
    return (
        f"{used.name} split only: the {skipped} split is not in {folder} and "
        f"could not be downloaded ({failures[-1].reason})"
    )


def _offline_error(
    dataset: NamedDataset, folder: Path, failures: list[_Unavailable]
) -> DatasetError:
    choices = [" and ".join(f.missing) for f in failures]
    if len(failures) > 1:
        choices = [
            f"{c} ({f.split.name} split)"
            for c, f in zip(choices, failures, strict=True)
        ]
    reason = failures[-1].reason if failures else "no split listed"
    # A bad checksum from a mirror is no sign of being offline.
    hint = "" if reason.startswith("ValueError") else "; offline?"
    return DatasetError(
        f"Cannot download {dataset.title} ({reason}{hint}). "
        f"Place {' or '.join(choices)} "
        f"in {folder}/ and submit again, or give a path."
    )


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 120 else text[:117] + "..."
