"""A trained model on disk: weights as safetensors and the spec as JSON beside them.

spec.json also holds the image shape and, for conditional models, the number of
classes, so the generator can be rebuilt without the dataset.

Both files are written to a temporary name in the same folder and then renamed, so a
reader never sees half a file. Weights are read with safetensors only, never with a
pickle-capable loader, because output folders may come from other machines.

With a shared location (worker/storage.py) both files are published there after
each epoch, and a worker that lacks a job's model fetches them into a local cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from shared.errors import JobFailed, SpecError
from shared.files import write_with
from shared.spec import TrainSpec
from worker.models import Generative, build_model, generative_part
from worker.storage import Location

Shape = tuple[int, int, int]

MODEL_FILE = "model.safetensors"
SPEC_FILE = "spec.json"
# Models fetched from a shared location, by job id, beside the worker's own jobs.
MODEL_CACHE = "location-cache"
# Whatever shape a damaged or foreign spec.json takes, the person gets one message.
_UNREADABLE_SPEC = (
    OSError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    SpecError,
)
# What a person can do about a model folder whose files cannot be used together.
_WAY_OUT = "Copy both files from one run, train the job again, or use another job."
# A misfit quoted in an error is cut to this length: a list of keys can run long.
MISFIT_CHARS = 200


def save_model(
    model: nn.Module,
    spec: TrainSpec,
    image_shape: tuple[int, int, int],
    output_dir: Path,
) -> Path:
    """Write model.safetensors and spec.json into output_dir; return the model path.

    The model's num_classes attribute, 0 for unconditional models, goes into
    spec.json beside the image shape.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    model_path = output_dir / MODEL_FILE
    write_with(
        model_path, lambda tmp: save_file(tensors, tmp, metadata={"model": spec.model})
    )

    num_classes = int(getattr(model, "num_classes", 0))
    document = {
        **spec.to_json(),
        "image_shape": list(image_shape),
        "num_classes": num_classes,
    }
    text = json.dumps(document, indent=2) + "\n"
    write_with(output_dir / SPEC_FILE, lambda tmp: Path(tmp).write_text(text))
    return model_path


def publish_model(location: Location, job_id: str, output_dir: Path) -> None:
    """Upload model.safetensors and spec.json from output_dir, each whole."""
    for name in (MODEL_FILE, SPEC_FILE):
        location.upload(output_dir / name, job_id, name)


def fetch_model(location: Location, job_id: str, artifact_dir: Path) -> Path:
    """A local folder holding the job's model, fetched from the location if need be.

    The copy goes under ``artifact_dir/location-cache`` and is not fetched again:
    only a finished job's model is asked for, and it no longer changes.
    """
    cache_dir = artifact_dir / MODEL_CACHE / job_id
    if all((cache_dir / name).is_file() for name in (MODEL_FILE, SPEC_FILE)):
        return cache_dir
    for name in (SPEC_FILE, MODEL_FILE):
        if not location.download(job_id, name, cache_dir / name):
            raise JobFailed(
                f"No trained model for job {job_id} at {location.shown(job_id)}: it "
                "finished no epoch, or ran on a worker without this artifact_url; "
                "generate on the worker that trained it, or train it again."
            )
    return cache_dir


def load_generator(
    output_dir: Path, device: str | torch.device = "cpu"
) -> tuple[Generative, TrainSpec, tuple[int, int, int]]:
    """Load the generative part of a saved model, in eval mode, with its spec.

    A conditional model's part takes labels: `sample(z, labels)`.
    """
    spec, image_shape, num_classes = _read_document(output_dir)
    model_path = output_dir / MODEL_FILE
    tensors, saved_kind = _read_weights(model_path, str(device))
    # A file without the kind (a checkpoint's weights) is judged by its shapes.
    if saved_kind is not None and saved_kind != spec.model:
        raise JobFailed(
            f"'{model_path}' holds a {saved_kind} model but spec.json describes a "
            f"{spec.model}; the two files come from different runs. {_WAY_OUT}"
        )

    try:
        model = build_model(spec.model, image_shape, spec.latent_dim, num_classes)
        model.to(device).load_state_dict(tensors)
    except (RuntimeError, ValueError) as exc:
        raise JobFailed(
            f"The weights in '{model_path}' do not fit a {spec.model} for images "
            f"{image_shape} with latent_dim {spec.latent_dim} ({_first_misfit(exc)}); "
            f"spec.json and model.safetensors come from different runs. {_WAY_OUT}"
        ) from None
    return generative_part(model.eval()), spec, image_shape


def _first_misfit(exc: Exception) -> str:
    """The first misfit load_state_dict lists, and how many more, kept short."""
    # PyTorch puts each misfit on a line of its own after a heading line; a line
    # of missing keys names every one of them.
    lines = str(exc).split("\n\t")
    first = (lines[1] if len(lines) > 1 else lines[0]).rstrip(".")
    if len(first) > MISFIT_CHARS:
        first = first[:MISFIT_CHARS] + "..."
    more = len(lines) - 2
    return first + (f", and {more} more" if more > 0 else "")


def read_spec(output_dir: Path) -> tuple[TrainSpec, Shape]:
    """Read spec.json back into a spec and the image shape (C, H, W)."""
    spec, image_shape, _ = _read_document(output_dir)
    return spec, image_shape


def _read_document(output_dir: Path) -> tuple[TrainSpec, Shape, int]:
    """Read spec.json into a spec, the image shape and the number of classes.

    Folders written before conditional models existed have no num_classes: 0.
    """
    path = output_dir / SPEC_FILE
    try:
        document = json.loads(path.read_text())
        shape = document.pop("image_shape")
        num_classes = int(document.pop("num_classes", 0))
        image_shape = (int(shape[0]), int(shape[1]), int(shape[2]))
        return TrainSpec.from_json(document), image_shape, num_classes
    except _UNREADABLE_SPEC as exc:
        raise JobFailed(
            f"Cannot read the model spec at '{path}' ({exc}); the output folder is "
            f"incomplete or was not written by genqueue. {_WAY_OUT}"
        ) from None


def _read_weights(
    model_path: Path, device: str
) -> tuple[dict[str, Tensor], str | None]:
    """Read every tensor and the model kind stored in the file's metadata."""
    try:
        with safe_open(str(model_path), framework="pt", device=device) as weights:
            # safe_open is not iterable; keys() is its only listing.
            names = weights.keys()
            tensors = {name: weights.get_tensor(name) for name in names}
            return tensors, (weights.metadata() or {}).get("model")
    except (OSError, SafetensorError) as exc:
        raise JobFailed(
            f"Cannot read model weights at '{model_path}' ({exc}); it is damaged "
            f"or was not written by genqueue. {_WAY_OUT}"
        ) from None
