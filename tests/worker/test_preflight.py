"""The pre-flight scan reads every file of a folder up front and names what it skips."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from shared.errors import DatasetError
from shared.spec import TrainSpec
from tests.data_paths import cifar_dir
from worker.datasets import load_images
from worker.preflight import (
    BadImage,
    PreflightReport,
    decode,
    list_folder,
    read_images,
)


def spec_for(dataset: Path | str, **fields: object) -> TrainSpec:
    return TrainSpec.model_validate({"model": "vae", "dataset": str(dataset), **fields})


def jpeg_bytes(seed: int, size: int = 24) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), np.uint8)
    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


def scan(root: Path, mode: str = "RGB") -> tuple[PreflightReport, list[Image.Image]]:
    report = PreflightReport(target_mode=mode)
    images = [
        image for _, image in read_images(list_folder(root, report), root, report)
    ]
    return report, images


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Four RGB JPEGs among every kind of file the scan must sort out."""
    for index in range(4):
        (tmp_path / f"{index:04d}.jpg").write_bytes(jpeg_bytes(index))
    whole = jpeg_bytes(99, size=64)
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._0001.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    Image.new("L", (20, 20), 77).save(tmp_path / "grey.png")
    Image.new("RGBA", (20, 20), (1, 2, 3, 4)).save(tmp_path / "alpha.png")
    Image.new("RGB", (20, 20), (200, 10, 10)).convert("P").save(tmp_path / "pal.png")
    return tmp_path


def test_scan_counts_and_names_every_kind_of_file(mixed_folder: Path) -> None:
    report, images = scan(mixed_folder)

    assert report.files == 11
    assert report.read == 7 and len(images) == 7
    assert report.skipped == {
        "hidden": ["._0001.jpg"],
        "truncated": ["cut.jpg"],
        "empty": ["empty.png"],
        "not_image": ["notes.txt"],
    }
    assert report.problems == 2
    assert report.count("empty") == 1
    assert report.skipped_count == 4
    assert dict(report.conversions) == {"RGBA": 1, "grayscale": 1, "palette": 1}
    assert {image.mode for image in images} == {"RGB"}


def test_summary_lists_counts_names_and_conversions(mixed_folder: Path) -> None:
    report, _ = scan(mixed_folder)

    assert report.summary() == (
        "11 files: 7 images read;\n"
        "skipped 1 not PNG/JPEG (notes.txt), 1 hidden (._0001.jpg), "
        "1 truncated (cut.jpg), 1 empty (empty.png);\n"
        "converted 1 RGBA → RGB, 1 grayscale → RGB, 1 palette → RGB"
    )


def test_truncated_jpeg_is_refused_not_padded(tmp_path: Path) -> None:
    whole = jpeg_bytes(7, size=64)
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[:-200])

    with pytest.raises(BadImage) as info:
        decode(path)

    assert info.value.problem == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_grey_target_converts_colour_images_and_counts_them(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.png")
    Image.new("L", (8, 8), 9).save(tmp_path / "grey.png")

    report, images = scan(tmp_path, mode="L")

    assert dict(report.conversions) == {"RGB": 1}
    assert {image.mode for image in images} == {"L"}
    assert report.summary().endswith("converted 1 RGB → grayscale")


def test_sixteen_bit_grey_keeps_its_top_byte_instead_of_clipping(
    tmp_path: Path,
) -> None:
    Image.fromarray(np.full((4, 4), 0x8000, np.uint16)).save(tmp_path / "deep.png")

    report, images = scan(tmp_path, mode="L")

    assert dict(report.conversions) == {"16-bit grayscale": 1}
    assert np.asarray(images[0]).max() == 0x80


def test_many_names_are_cut_to_five_and_a_count(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "image.png")
    for name in "abcdefg":
        (tmp_path / f"{name}.txt").write_text(name)

    report, _ = scan(tmp_path)

    assert "7 not PNG/JPEG (a.txt, b.txt, c.txt, d.txt, e.txt and 2 more)" in (
        report.summary()
    )


def test_hidden_folders_are_skipped_whole_and_named_once(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "image.png")
    for folder in ("__MACOSX", ".git"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(b"junk")
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "cats" / "Thumbs.db").write_bytes(b"junk")

    report, _ = scan(tmp_path)

    assert report.skipped["hidden"] == [
        ".git/",
        "__MACOSX/",
        "cats/.DS_Store",
        "cats/Thumbs.db",
    ]


def test_image_over_max_image_pixels_is_refused_as_oversized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGB", (64, 64)).save(tmp_path / "big.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "small.png")
    # 4,096 pixels: past the limit but under twice it, where Pillow only warns.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)

    report, images = scan(tmp_path)

    assert report.skipped == {"oversized": ["big.png"]}
    assert len(images) == 1


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels but holds a few bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def test_png_whose_header_claims_a_huge_size_is_refused_as_oversized(
    tmp_path: Path,
) -> None:
    (tmp_path / "bomb.png").write_bytes(png_claiming(100_000, 100_000))
    Image.new("RGB", (8, 8)).save(tmp_path / "small.png")

    report, _ = scan(tmp_path)

    assert report.skipped == {"oversized": ["bomb.png"]}


def test_max_images_stops_the_scan_and_says_how_many_were_not_read(
    tmp_path: Path,
) -> None:
    for index in range(5):
        Image.new("RGB", (8, 8)).save(tmp_path / f"{index}.png")
    report = PreflightReport(target_mode="RGB")

    images = list(read_images(list_folder(tmp_path, report), tmp_path, report, 2))

    assert len(images) == 2
    assert report.unscanned == 3
    assert (
        report.summary()
        == "5 files: 2 images read, 3 more not read (max_images reached)"
    )


def test_load_images_returns_the_report_with_the_images(mixed_folder: Path) -> None:
    data = load_images(spec_for(mixed_folder, image_size=16))

    assert data.images.shape == (7, 3, 16, 16)
    assert data.report is not None and data.report.read == 7
    assert "4 files skipped" in data.description


def test_folder_of_only_bad_files_is_refused_with_the_summary(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(jpeg_bytes(1)[:300])
    (tmp_path / "._cut.jpg").write_bytes(b"junk")

    with pytest.raises(DatasetError) as info:
        load_images(spec_for(tmp_path))

    message = str(info.value)
    assert f"No file in '{tmp_path}' could be used: 3 files: 0 images read" in message
    assert "1 hidden (._cut.jpg), 1 truncated (cut.jpg), 1 empty (empty.png)" in message


def test_cifar_jpeg_subset_scans_clean() -> None:
    data = load_images(spec_for(cifar_dir(), image_size=32))

    report = data.report
    assert report is not None
    assert report.read == 2000
    assert report.problems == 0
    assert not report.conversions
    # The checksum list beside the class folders is the only file not read.
    assert report.skipped == {"not_image": ["SHA256SUMS"]}
