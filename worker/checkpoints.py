"""Checkpoints a training run can resume from, written at the end of every epoch.

A checkpoint is a folder: the model's weights as safetensors, and the rest of the
run's state (both optimizers, the step and epoch, the random generators' states and
the fixed sample noise) in a file read back with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers. Each is written whole in a
temporary folder and renamed into place, and a ``latest`` file names the newest, so
a crash mid-write leaves the previous checkpoint as it was.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from shared.errors import JobFailed
from shared.spec import TrainSpec

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
WEIGHTS = "weights.safetensors"
STATE = "state.pt"
LATEST = "latest"
KEEP = 2


@dataclass
class Checkpoint:
    """Everything needed to go on with a run after ``epoch``."""

    epoch: int
    global_step: int
    model: dict[str, Tensor]
    optimizers: dict[str, dict[str, Any]]
    rng: dict[str, Tensor]
    fixed_z: Tensor
    epoch_means: list[dict[str, float]] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(output_dir: Path, checkpoint: Checkpoint) -> Path:
    """Write the checkpoint beside the older ones, then point ``latest`` at it."""
    root = output_dir / CHECKPOINTS
    target = root / f"epoch-{checkpoint.epoch:05d}"
    staging = root / f".{target.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    weights = {k: v.detach().contiguous().cpu() for k, v in checkpoint.model.items()}
    save_file(weights, str(staging / WEIGHTS))
    torch.save(_state_of(checkpoint), staging / STATE)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    _write_latest(root, target.name)
    _prune(root, keep=target.name)
    return target


def load_checkpoint(output_dir: Path) -> Checkpoint | None:
    """The newest checkpoint under output_dir, or None when there is none."""
    root = output_dir / CHECKPOINTS
    latest = root / LATEST
    if not latest.is_file():
        return None
    folder = root / latest.read_text().strip()
    try:
        model = load_file(str(folder / WEIGHTS))
        state = torch.load(folder / STATE, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        # torch's own message suggests weights_only=False, which is the one thing
        # never to do with a file that may not be ours.
        raise JobFailed(
            f"The checkpoint in {folder} cannot be read: it holds more than tensors "
            "and plain values, so it was refused unread; remove the folder to train "
            "from the start."
        ) from None
    except (OSError, RuntimeError, TypeError) as exc:
        raise JobFailed(
            f"The checkpoint in {folder} cannot be read ({type(exc).__name__}); "
            "remove the folder to train from the start."
        ) from None
    return Checkpoint(model=model, **state)


def _state_of(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "epoch": checkpoint.epoch,
        "global_step": checkpoint.global_step,
        "optimizers": checkpoint.optimizers,
        "rng": checkpoint.rng,
        "fixed_z": checkpoint.fixed_z.detach().cpu(),
        "epoch_means": checkpoint.epoch_means,
        "extra": checkpoint.extra,
        "spec": checkpoint.spec,
    }


def _write_latest(root: Path, name: str) -> None:
    tmp = root / f".{LATEST}.tmp"
    tmp.write_text(name)
    os.replace(tmp, root / LATEST)


def _prune(root: Path, keep: str) -> None:
    """Keep the newest checkpoints; older ones only take disk."""
    folders = sorted(p for p in root.glob("epoch-*") if p.is_dir())
    for folder in folders[:-KEEP]:
        if folder.name != keep:
            shutil.rmtree(folder, ignore_errors=True)


# What a checkpoint's weights are shaped by: another value cannot take them up.
MUST_MATCH = ("model", "latent_dim", "image_size", "channels")


def checkpoint_to_resume(
    spec: TrainSpec, output_dir: Path, artifact_dir: Path
) -> Checkpoint | None:
    """The job's own latest checkpoint, else that of the job it continues, if any."""
    own = load_checkpoint(output_dir)
    if own is not None:
        return own
    if spec.resume_from is None:
        return None
    found = load_checkpoint(artifact_dir / spec.resume_from)
    if found is None:
        raise JobFailed(
            f"Job {spec.resume_from} left no checkpoint in {artifact_dir} on this "
            "worker; continue it on the worker that trained it, or share the "
            "artifact folder between workers."
        )
    check_continuable(found, spec)
    return found


def check_continuable(checkpoint: Checkpoint, spec: TrainSpec) -> None:
    """Refuse a checkpoint whose weights or epoch count this spec cannot go on from."""
    for key in MUST_MATCH:
        theirs, ours = checkpoint.spec.get(key), getattr(spec, key)
        if theirs != ours:
            raise JobFailed(
                f"Cannot continue from the checkpoint of job {spec.resume_from}: it "
                f"was trained with {key}={theirs!r}, this job asks for {ours!r}; "
                "submit a new job instead."
            )
    if spec.epochs <= checkpoint.epoch:
        raise JobFailed(
            f"The checkpoint already holds {checkpoint.epoch} epochs; ask for more "
            f"than {checkpoint.epoch} to continue it."
        )
