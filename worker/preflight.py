"""Look at every file of an image folder before training, and say what was skipped.

All decoding happens here, up front: each image is read in full (a truncated file
fails now, not in the middle of an epoch) and converted to the job's colour mode.
Truncated images are refused, never padded: Pillow's LOAD_TRUNCATED_IMAGES stays
off. An image whose pixel count passes Image.MAX_IMAGE_PIXELS is refused as a
possible decompression bomb, even where Pillow would only warn.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from shared.datasets import is_hidden, is_image_name

logger = logging.getLogger(__name__)

Problem = Literal[
    "not_image", "hidden", "truncated", "unreadable", "empty", "oversized"
]

# In the order the summary lists them, with the words it uses.
PROBLEM_WORDS: dict[Problem, str] = {
    "not_image": "not PNG/JPEG",
    "hidden": "hidden",
    "truncated": "truncated",
    "unreadable": "unreadable",
    "empty": "empty",
    "oversized": "oversized",
}
MODE_WORDS = {
    "1": "1-bit",
    "L": "grayscale",
    "LA": "grayscale+alpha",
    "I;16": "16-bit grayscale",
    "I": "32-bit grayscale",
    "F": "float grayscale",
    "P": "palette",
    "PA": "palette+alpha",
    "RGB": "RGB",
    "RGBA": "RGBA",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "LAB": "Lab",
}
# Files that look like images but cannot be used, as opposed to files that were
# never images (notes, checksum lists) or are hidden.
DAMAGE: frozenset[Problem] = frozenset(
    {"truncated", "unreadable", "empty", "oversized"}
)
NAMES_SHOWN = 5


class BadImage(Exception):
    """A file that is not a usable image; `problem` says which kind."""

    def __init__(self, problem: Problem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem


@dataclass
class PreflightReport:
    """What a scan of an image folder found, by category, with file names."""

    target_mode: str  # "RGB" or "L", the mode every image is converted to
    files: int = 0  # every file found, images or not, hidden folders counted once
    read: int = 0
    unscanned: int = 0  # images left unread once max_images were found
    skipped: dict[Problem, list[str]] = field(default_factory=dict)
    conversions: Counter[str] = field(default_factory=Counter)

    def skip(self, problem: Problem, name: str) -> None:
        self.skipped.setdefault(problem, []).append(name)

    def count(self, problem: Problem) -> int:
        return len(self.skipped.get(problem, []))

    @property
    def problems(self) -> int:
        """How many image files could not be used: damaged, empty or oversized."""
        return sum(self.count(problem) for problem in DAMAGE)

    @property
    def skipped_count(self) -> int:
        """How many files were skipped for any reason, hidden ones included."""
        return sum(len(names) for names in self.skipped.values())

    def summary(self) -> str:
        """A few lines for the job log: counts, then names, then conversions."""
        lines = [f"{self.files:,} files: {self.read:,} images read"]
        if self.unscanned:
            lines[0] += f", {self.unscanned:,} more not read (max_images reached)"
        skipped = [self._describe(p) for p in PROBLEM_WORDS if p in self.skipped]
        if skipped:
            lines.append("skipped " + ", ".join(skipped))
        if self.conversions:
            target = mode_word(self.target_mode)
            done = [f"{n:,} {m} → {target}" for m, n in self.conversions.items()]
            lines.append("converted " + ", ".join(done))
        return ";\n".join(lines)

    def _describe(self, problem: Problem) -> str:
        names = self.skipped[problem]
        shown = ", ".join(names[:NAMES_SHOWN])
        if len(names) > NAMES_SHOWN:
            shown += f" and {len(names) - NAMES_SHOWN:,} more"
        return f"{len(names):,} {PROBLEM_WORDS[problem]} ({shown})"


def list_folder(root: Path, report: PreflightReport) -> list[Path]:
    """Return the PNG/JPEG files under `root`, sorted; note every other file skipped.

    Hidden folders (.git, __MACOSX) are skipped whole and named once, with '/'.
    """
    images: list[Path] = []
    for folder, dirs, files in os.walk(root):
        # Sorting in place also fixes the order in which os.walk descends.
        dirs.sort()
        for name in [d for d in dirs if is_hidden(d)]:
            dirs.remove(name)
            report.files += 1
            report.skip("hidden", _relative(Path(folder, name), root) + "/")
        for name in sorted(files):
            report.files += 1
            path = Path(folder, name)
            if is_image_name(name):
                images.append(path)
            else:
                problem: Problem = "hidden" if is_hidden(name) else "not_image"
                report.skip(problem, _relative(path, root))
    return images


def read_images(
    paths: list[Path], root: Path, report: PreflightReport, limit: int | None = None
) -> Iterator[tuple[Path, Image.Image]]:
    """Yield each readable image, decoded in full and in the report's target mode.

    Stops after `limit` good images; the rest are counted as not read.
    """
    for index, path in enumerate(paths):
        if limit is not None and report.read == limit:
            report.unscanned = len(paths) - index
            return
        try:
            image = decode(path)
        except BadImage as exc:
            report.skip(exc.problem, _relative(path, root))
            logger.warning("skipping %s image %s: %s", exc.problem, path, exc)
            continue
        report.read += 1
        yield path, convert(image, report)


def decode(path: Path) -> Image.Image:
    """Read a whole image file into memory, or raise BadImage saying why not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImage("unreadable", exc.strerror or str(exc)) from None
    if not data:
        raise BadImage("empty", "the file has zero bytes")

    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _open_checked(data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise BadImage("oversized", str(exc)) from None
        except UnidentifiedImageError:
            raise BadImage("unreadable", "not an image Pillow knows") from None
        # Decoders report damage as any of these, SyntaxError included.
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise BadImage(_damage(exc), str(exc)) from None


def _damage(exc: Exception) -> Problem:
    # Pillow says "image file is truncated" or "Truncated File Read" for a file
    # cut short; anything else is damage of another kind.
    return "truncated" if "truncat" in str(exc).lower() else "unreadable"


def _open_checked(data: bytes) -> Image.Image:
    # verify() checks the structure (PNG chunk checksums) but leaves the image
    # unusable, so a second open decodes the pixels.
    with Image.open(BytesIO(data)) as probe:
        probe.verify()
    image = Image.open(BytesIO(data))
    image.load()
    return image


def convert(image: Image.Image, report: PreflightReport) -> Image.Image:
    """Convert to the report's target mode, counting each conversion by source mode."""
    target = report.target_mode
    if image.mode == target:
        return image

    report.conversions[mode_word(image.mode)] += 1
    if image.mode.startswith("I;16"):
        # Pillow clips 16-bit values at 255 when converting; keep the top byte.
        top = (np.asarray(image, np.uint16) >> 8).astype(np.uint8)
        image = Image.fromarray(top)
    return image.convert(target)


def mode_word(mode: str) -> str:
    """Name a Pillow mode for people; 16-bit modes of either byte order are one."""
    key = "I;16" if mode.startswith("I;16") else mode
    return MODE_WORDS.get(key, mode)


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()
