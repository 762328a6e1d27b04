"""max_images on a class-folder dataset reads a seeded sample with every class's share."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image

from shared.spec import TrainSpec
from worker.datasets import load_images
from worker.subset import balanced_order


def make_classes(root: Path, sizes: dict[str, int]) -> Path:
    """Class folders of 8x8 grey PNGs whose shade encodes class and file number."""
    for number, (name, count) in enumerate(sizes.items()):
        (root / name).mkdir(parents=True)
        for index in range(count):
            shade = 40 * number + index
            Image.new("L", (8, 8), shade).save(root / name / f"{index:03}.png")
    return root


def load(root: Path, max_images: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    spec = TrainSpec(
        model="vae", dataset=str(root), image_size=8, channels=1, max_images=max_images
    )
    data = load_images(spec)
    assert data.labels is not None
    # The shade each image was written with, back from [0, 1].
    return (data.images[:, 0, 0, 0] * 255).round().long(), data.labels


def test_every_class_is_present_and_balanced_within_one(tmp_path: Path) -> None:
    root = make_classes(tmp_path, {c: 10 for c in "abcd"})

    _, labels = load(root, max_images=10)

    counts = Counter(labels.tolist())
    assert sorted(counts) == [0, 1, 2, 3]
    assert max(counts.values()) - min(counts.values()) <= 1
    assert sum(counts.values()) == 10


def test_unequal_classes_keep_their_shares(tmp_path: Path) -> None:
    root = make_classes(tmp_path, {"big": 20, "mid": 10, "small": 10})

    _, labels = load(root, max_images=20)

    counts = Counter(labels.tolist())
    assert abs(counts[0] - 10) <= 1 and abs(counts[1] - 5) <= 1
    assert abs(counts[2] - 5) <= 1


def test_labels_follow_the_images_they_were_read_with(tmp_path: Path) -> None:
    root = make_classes(tmp_path, {c: 6 for c in "abc"})

    shades, labels = load(root, max_images=7)

    assert torch.equal(shades // 40, labels)


def test_the_sample_is_seeded_and_not_the_first_files(tmp_path: Path) -> None:
    root = make_classes(tmp_path, {c: 10 for c in "abcd"})

    first, _ = load(root, max_images=8)
    again, _ = load(root, max_images=8)

    assert torch.equal(first, again)
    file_numbers = sorted((first % 40).tolist())
    assert file_numbers != [0, 0, 0, 0, 1, 1, 1, 1]


def test_a_damaged_file_is_replaced_by_another_of_the_sample(tmp_path: Path) -> None:
    root = make_classes(tmp_path, {c: 5 for c in "abcd"})
    order = balanced_order(sorted(root.rglob("*.png")), root)
    order[0].write_bytes(order[0].read_bytes()[:30])

    _, labels = load(root, max_images=8)

    assert len(labels) == 8
    assert sorted(Counter(labels.tolist())) == [0, 1, 2, 3]


def test_without_a_limit_every_file_is_read_in_sorted_order(tmp_path: Path) -> None:
    root = make_classes(tmp_path, {"a": 3, "b": 2})

    shades, labels = load(root, max_images=None)

    assert shades.tolist() == [0, 1, 2, 40, 41]
    assert labels.tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("sizes", [(7, 7, 7), (12, 5, 3), (1, 9)])
def test_every_prefix_of_the_order_is_balanced_within_one(
    tmp_path: Path, sizes: tuple[int, ...]
) -> None:
    files = [
        tmp_path / f"c{c}" / f"{i}.png" for c, n in enumerate(sizes) for i in range(n)
    ]
    total = sum(sizes)

    order = balanced_order(files, tmp_path)

    assert sorted(order) == sorted(files)
    for taken in range(1, total + 1):
        counts = Counter(p.parent.name for p in order[:taken])
        for c, n in enumerate(sizes):
            assert abs(counts[f"c{c}"] - taken * n / total) < 1, (taken, c)
