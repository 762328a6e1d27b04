"""The finished training job that a generation draws from: its model and spec."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from shared.errors import JobFailed
from shared.generation import GenerateSpec
from shared.spec import TrainSpec
from worker.artifacts import MODEL_FILE, SPEC_FILE, load_generator
from worker.models import Generative, build_model
from worker.models.vae import VariationalAutoencoder


@dataclass(frozen=True)
class Source:
    """A loaded generator (in eval mode) and what its training job was."""

    job_id: str
    model_dir: Path
    generator: Generative
    spec: TrainSpec
    image_shape: tuple[int, int, int]


def load_source(spec: GenerateSpec, model_dir: Path, device: torch.device) -> Source:
    """Load the source job's generator; a folder without a model is refused."""
    if not (model_dir / MODEL_FILE).is_file() or not (model_dir / SPEC_FILE).is_file():
        raise JobFailed(
            f"No trained model for job {spec.source} in '{model_dir}': it finished no "
            "epoch, or ran on another worker; generate on the worker that trained "
            "it, or train it again."
        )

    generator, train_spec, image_shape = load_generator(model_dir, device)
    if isinstance(generator, nn.Module):
        # load_generator already gives eval mode; the claim that image k does not
        # depend on its batch rests on it, so it is not left to that promise.
        generator.eval()
    return Source(spec.source, model_dir, generator, train_spec, image_shape)


def load_vae(source: Source, device: torch.device) -> VariationalAutoencoder:
    """The source's whole VAE, encoder included, in eval mode.

    load_generator has already checked that the weights fit this model, so only
    the model kind can still be wrong here.
    """
    shape, spec = source.image_shape, source.spec
    model = build_model(
        spec.model, shape, spec.latent_dim, source.generator.num_classes
    )
    if not isinstance(model, VariationalAutoencoder):
        raise JobFailed(
            f"reconstruct needs a VAE; job {source.job_id} trained a {spec.model}. "
            "Choose mode samples, or a job that trained a vae, conv_vae or cvae."
        )

    # safetensors only: the folder may come from another machine (see artifacts).
    tensors = load_file(str(source.model_dir / MODEL_FILE), device=str(device))
    model.to(device).load_state_dict(tensors)
    return model.eval()
