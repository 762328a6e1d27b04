"""What each generation mode draws: the images, their grid and their file names.

Every image is decoded in a batch of exactly SLOTS rows, at slot k % SLOTS, with
the model in eval mode (BatchNorm uses its running statistics), so image k comes
out bit for bit the same (on one device and build) whether 1 or 1024 images are
drawn with it. Decoded alone, in a batch of one, it agrees to float rounding
only: another batch size may take another matrix kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from shared.errors import JobFailed
from shared.generation import GenerateSpec
from worker.datasets import ImageSet, load_images
from worker.generation.noise import image_noise, interpolate_noise
from worker.generation.source import Source, load_vae
from worker.training.grids import ROW, interleave_rows

# Every batch has this many rows, zero-padded, so the kernels a row goes through
# never depend on how many images were asked for; 64 keeps padding cheap.
SLOTS = 64
# A class grid wider than this is too small to read on a screen.
MAX_CLASS_COLUMNS = 16

Decode = Callable[[Tensor, Tensor | None], Tensor]


@dataclass(frozen=True)
class Drawing:
    """A mode's output: a grid (name, images, images per row) and files by name."""

    name: str
    grid: Tensor  # [N, C, H, W] in [0, 1]
    nrow: int
    pictures: dict[str, Tensor]  # file name -> [C, H, W] in [0, 1]


def decode_in_slots(
    decode: Decode, inputs: Tensor, labels: Tensor | None, device: torch.device
) -> Tensor:
    """Apply `decode` to inputs [N, ...] in padded batches of SLOTS; [N, C, H, W]."""
    parts = []
    with torch.no_grad():
        for start in range(0, len(inputs), SLOTS):
            chunk = inputs[start : start + SLOTS]
            chunk_labels = None
            if labels is not None:
                chunk_labels = _padded(labels[start : start + SLOTS]).to(device)
            out = decode(_padded(chunk).to(device), chunk_labels)
            parts.append(out[: len(chunk)].float().cpu())
    return torch.cat(parts)


def _padded(rows: Tensor) -> Tensor:
    """Rows padded with zeros (class 0, for labels) to SLOTS rows."""
    filler = rows.new_zeros(SLOTS - len(rows), *rows.shape[1:])
    return torch.cat([rows, filler])


def draw(spec: GenerateSpec, source: Source, device: torch.device) -> Drawing:
    """Draw what spec.mode asks for from the source job's model."""
    drawers: dict[str, Callable[[GenerateSpec, Source, torch.device], Drawing]] = {
        "samples": draw_samples,
        "interpolate": draw_interpolation,
        "reconstruct": draw_reconstructions,
        "classes": draw_classes,
    }
    return drawers[spec.mode](spec, source, device)


def draw_samples(spec: GenerateSpec, source: Source, device: torch.device) -> Drawing:
    """Images 0..count-1 of the seed; a conditional model cycles its classes."""
    generator = source.generator
    z = image_noise(spec.seed, range(spec.count), generator.latent_dim)
    labels = None
    if generator.num_classes:
        labels = torch.arange(spec.count) % generator.num_classes
    images = decode_in_slots(generator.sample, z, labels, device)
    return Drawing("samples", images, ROW, _named("sample_{:04d}.png", images))


def draw_interpolation(
    spec: GenerateSpec, source: Source, device: torch.device
) -> Drawing:
    """One strip from image 0 of `seed` to image 0 of `seed_b`, ends included.

    A conditional model draws the whole strip as class 0, the class image 0 has
    in samples, so the ends match those samples.
    """
    generator = source.generator
    seed_b = spec.seed + 1 if spec.seed_b is None else spec.seed_b
    z_a = image_noise(spec.seed, [0], generator.latent_dim)[0]
    z_b = image_noise(seed_b, [0], generator.latent_dim)[0]
    path = interpolate_noise(z_a, z_b, spec.steps, spec.method)  # [steps, latent]
    labels = torch.zeros(spec.steps, dtype=torch.int64)
    images = decode_in_slots(
        generator.sample, path, labels if generator.num_classes else None, device
    )
    pictures = _named("interpolation_{:02d}.png", images)
    return Drawing("interpolation", images, spec.steps, pictures)


def draw_classes(spec: GenerateSpec, source: Source, device: torch.device) -> Drawing:
    """One row per class; column j is image j's noise in every row."""
    generator, classes = source.generator, source.generator.num_classes
    if not classes:
        raise JobFailed(
            f"classes needs a conditional model (cgan or cvae); job {source.job_id} "
            f"trained a {source.spec.model}. Choose mode samples, or a job that "
            "trained a cgan or cvae."
        )

    columns = min(spec.count, MAX_CLASS_COLUMNS)
    z = image_noise(spec.seed, range(columns), generator.latent_dim)
    labels = torch.arange(classes).repeat_interleave(columns)  # [K * columns]
    images = decode_in_slots(generator.sample, z.repeat(classes, 1), labels, device)
    pictures = {
        f"class_{k // columns:02d}_{k % columns:02d}.png": image
        for k, image in enumerate(images)
    }
    return Drawing("classes", images, columns, pictures)


def draw_reconstructions(
    spec: GenerateSpec, source: Source, device: torch.device
) -> Drawing:
    """Dataset images, each decoded from its encoder mean; originals above copies."""
    vae = load_vae(source, device)
    data = _dataset_images(source, spec.indices)
    chosen = list(spec.indices)
    originals = data.images[chosen]
    labels = None
    if vae.num_classes:
        labels = _labels(source, data)[chosen]

    copies = decode_in_slots(vae.reconstruct, originals, labels, device)
    pictures = _named("original_{:04d}.png", originals)
    pictures |= _named("reconstruction_{:04d}.png", copies)
    grid = interleave_rows(originals, copies)
    return Drawing("reconstructions", grid, ROW, pictures)


def _dataset_images(source: Source, indices: Sequence[int]) -> ImageSet:
    """The source job's dataset, as it trained on it; every index must be in it."""
    data = load_images(source.spec)
    count, name = len(data.images), source.spec.dataset
    for index in indices:
        if index >= count:
            raise JobFailed(
                f"Index {index} is past the end of the dataset '{name}' of job "
                f"{source.job_id}, which has {count} images; choose indices from 0 "
                f"to {count - 1}."
            )
    if data.image_shape != source.image_shape:
        raise JobFailed(
            f"The dataset '{name}' now gives images {data.image_shape}, but job "
            f"{source.job_id} trained on {source.image_shape}; it has changed since. "
            "Train the model again on it, or reconstruct with a newer job."
        )
    return data


def _labels(source: Source, data: ImageSet) -> Tensor:
    """The labels a conditional VAE's encoder needs; a dataset without them fails."""
    if data.labels is None:
        raise JobFailed(
            f"The dataset '{source.spec.dataset}' of job {source.job_id} has no "
            f"labels, which its {source.spec.model} needs to encode an image; "
            "restore the dataset's class folders or labels file, or choose a vae."
        )
    return data.labels


def _named(pattern: str, images: Tensor) -> dict[str, Tensor]:
    return {pattern.format(k): image for k, image in enumerate(images)}
