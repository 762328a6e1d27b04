"""generate(): draw images from a finished training job's model into a folder."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from shared.files import write_atomically
from shared.generation import GenerateSpec
from worker.generation.drawing import draw
from worker.generation.output import write_pictures
from worker.generation.source import load_source
from worker.images import make_grid_png

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationResult:
    """PNG grids by name, and the single-image PNGs written to the output folder.

    The grid is named "samples", "interpolation", "reconstructions" or "classes"
    after the mode; it is returned, not written.
    """

    grids: dict[str, bytes]
    files: list[Path]


def generate(
    spec: GenerateSpec, model_dir: Path, output_dir: Path, device: torch.device
) -> GenerationResult:
    """Draw what the spec asks from the model in model_dir into output_dir.

    The same spec gives the same images (to the device's float rounding), and
    image k does not depend on how many are drawn. Raises JobFailed with a message
    for people when the model is missing or cannot do what the mode needs.
    """
    output_dir = output_dir.resolve()
    source = load_source(spec, model_dir, device)
    drawing = draw(spec, source, device)

    grid = make_grid_png(drawing.grid, nrow=drawing.nrow)
    files = write_pictures(output_dir, drawing.pictures)
    # The grid and the spec beside the images, so the folder explains itself.
    write_atomically(output_dir / f"{drawing.name}.png", grid)
    spec_text = json.dumps(spec.to_json(), indent=2).encode()
    write_atomically(output_dir / "generate.json", spec_text)
    logger.info(
        "drew %s (%d files) from job %s into %s",
        drawing.name,
        len(files),
        spec.source,
        output_dir,
    )
    return GenerationResult({drawing.name: grid}, files)
