"""Checkpoints a training run can resume from, written at the end of every epoch.

A checkpoint is a folder: the model's weights as safetensors, and the rest of the
run's state (both optimizers, the step and epoch, the random generators' states and
the fixed sample noise) in a file read back with ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers. Each is written whole in a
temporary folder and renamed into place, and a ``latest`` file names the newest, so
a crash mid-write leaves the previous checkpoint as it was.

With a shared location (worker/storage.py) each checkpoint is also published there,
its files first and its ``latest`` marker last, and a run that finds a newer one
there than in its own folder fetches it before resuming.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from shared.errors import JobFailed
from shared.spec import TrainSpec
from worker.storage import Location

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
WEIGHTS = "weights.safetensors"
STATE = "state.pt"
LATEST = "latest"
KEEP = 2
# Only names of this form are read from a location: a marker naming anything else
# (such as ../../somewhere) is refused.
FOLDER_NAME = re.compile(r"epoch-(\d{5,})")


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


def publish_checkpoint(location: Location, job_id: str, output_dir: Path) -> None:
    """Upload the newest local checkpoint's files, then name it in ``latest``.

    Readers go by ``latest`` alone, so a checkpoint whose upload broke off is never
    taken up: the marker still names the one before it.
    """
    root = output_dir / CHECKPOINTS
    name = (root / LATEST).read_text().strip()
    for file in (WEIGHTS, STATE):
        location.upload(root / name / file, job_id, f"{CHECKPOINTS}/{name}/{file}")
    location.write_text(job_id, f"{CHECKPOINTS}/{LATEST}", name)

    published = [n for n in location.names(job_id, CHECKPOINTS) if _epoch(n)]
    for old in sorted(published, key=_epoch)[:-KEEP]:
        if old != name:
            location.discard(job_id, f"{CHECKPOINTS}/{old}")


def fetch_checkpoint(location: Location, job_id: str, output_dir: Path) -> bool:
    """Copy the location's latest checkpoint of the job into output_dir.

    Only when it is newer than output_dir's own; returns whether it copied one.
    """
    name = (location.read_text(job_id, f"{CHECKPOINTS}/{LATEST}") or "").strip()
    if not name:
        return False
    if not _epoch(name):
        raise JobFailed(
            f"The checkpoint marker at {location.shown(job_id, CHECKPOINTS)} names "
            f"{name!r}, which is not a checkpoint; remove it to train from the start."
        )
    root = output_dir / CHECKPOINTS
    if _epoch(_local_latest(root)) >= _epoch(name):
        return False

    staging = root / f".{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    for file in (WEIGHTS, STATE):
        if not location.download(
            job_id, f"{CHECKPOINTS}/{name}/{file}", staging / file
        ):
            raise JobFailed(
                f"{location.shown(job_id, CHECKPOINTS)} names checkpoint {name}, but "
                f"its {file} is missing; remove the marker to train from the start."
            )
    shutil.rmtree(root / name, ignore_errors=True)
    os.replace(staging, root / name)
    _write_latest(root, name)
    logger.info("fetched checkpoint %s from %s", name, location.shown(job_id))
    return True


def _epoch(name: str) -> int:
    """The epoch a checkpoint folder's name holds; 0 for any other name."""
    match = FOLDER_NAME.fullmatch(name)
    return int(match.group(1)) if match else 0


def _local_latest(root: Path) -> str:
    latest = root / LATEST
    return latest.read_text().strip() if latest.is_file() else ""


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
    spec: TrainSpec,
    output_dir: Path,
    artifact_dir: Path,
    location: Location | None = None,
) -> Checkpoint | None:
    """The job's own latest checkpoint, else that of the job it continues, if any.

    output_dir is ``artifact_dir / job id``. With a location, a newer checkpoint
    there is fetched first, so the run goes on where another worker left it.
    """
    if location is not None:
        fetch_checkpoint(location, output_dir.name, output_dir)
    own = load_checkpoint(output_dir)
    if own is not None:
        return own
    if spec.resume_from is None:
        return None

    source_dir = artifact_dir / spec.resume_from
    if location is not None:
        fetch_checkpoint(location, spec.resume_from, source_dir)
    found = load_checkpoint(source_dir)
    if found is None:
        where = f"in {artifact_dir} on this worker"
        if location is not None:
            where += f" nor at {location.shown(spec.resume_from)}"
        raise JobFailed(
            f"Job {spec.resume_from} left no checkpoint {where}; continue it on the "
            "worker that trained it, or set artifact_url so that workers share "
            "their checkpoints."
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
