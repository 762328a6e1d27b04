"""A run resumed from its checkpoint ends exactly where an uninterrupted one does."""

from __future__ import annotations

import functools
import os
import pickle
from pathlib import Path

import pytest
import torch

from shared.errors import JobFailed
from shared.spec import ModelKind, TrainSpec
from tests.worker.test_training import Recorder
from worker.checkpoints import CHECKPOINTS, STATE, load_checkpoint
from worker.datasets import ImageSet, load_images
from worker.quality import QualityMeter, build_meter
from worker.training import train

CPU = torch.device("cpu")


@functools.cache
def digits(image_size: int | None) -> ImageSet:
    fields = {"model": "vae", "dataset": "digits", "max_images": 128}
    return load_images(TrainSpec.from_json({**fields, "image_size": image_size}))


def spec_for(model: ModelKind, epochs: int) -> TrainSpec:
    size = 28 if model in {"dcgan", "wgan_gp", "conv_vae"} else None
    fields = {"model": model, "dataset": "digits", "batch_size": 64, "latent_dim": 8}
    extra = {"critic_steps": 2} if model == "wgan_gp" else {}
    return TrainSpec.from_json(
        {**fields, **extra, "epochs": epochs, "image_size": size}
    )


@pytest.mark.parametrize("model", ["vae", "gan", "wgan_gp"])
def test_resuming_after_an_epoch_matches_an_uninterrupted_run(
    model: ModelKind, tmp_path: Path
) -> None:
    data = digits(28 if model == "wgan_gp" else None)
    straight, first, second = Recorder(), Recorder(), Recorder()

    whole = train(spec_for(model, 3), data, CPU, straight, tmp_path / "whole")
    train(spec_for(model, 1), data, CPU, first, tmp_path / "split")
    checkpoint = load_checkpoint(tmp_path / "split")
    assert checkpoint is not None and checkpoint.epoch == 1
    rest = train(spec_for(model, 3), data, CPU, second, tmp_path / "split", checkpoint)

    assert first.steps + second.steps == straight.steps
    assert (rest.epochs_completed, rest.steps) == (whole.epochs_completed, whole.steps)
    a, b = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "split")
    assert a is not None and b is not None
    for name, tensor in a.model.items():
        assert torch.equal(tensor, b.model[name]), name
    for name, state in a.optimizers.items():
        other = b.optimizers[name]
        assert state["param_groups"][0]["lr"] == other["param_groups"][0]["lr"]
        for key, moments in state["state"].items():
            assert torch.equal(moments["exp_avg"], other["state"][key]["exp_avg"])
            assert torch.equal(moments["step"], other["state"][key]["step"])


def test_only_the_newest_checkpoints_are_kept(tmp_path: Path) -> None:
    train(spec_for("vae", 4), digits(None), CPU, Recorder(), tmp_path)

    kept = sorted(p.name for p in (tmp_path / CHECKPOINTS).glob("epoch-*"))
    assert kept == ["epoch-00003", "epoch-00004"]
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint is not None and checkpoint.epoch == 4


def test_a_run_without_checkpoints_has_none_to_resume(tmp_path: Path) -> None:
    assert load_checkpoint(tmp_path) is None


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (os.mkdir, (str(self.marker),))


def test_a_checkpoint_carrying_code_is_refused_without_running_it(
    tmp_path: Path,
) -> None:
    train(spec_for("vae", 1), digits(None), CPU, Recorder(), tmp_path)
    marker = tmp_path / "pwned"
    state = next((tmp_path / CHECKPOINTS).glob("epoch-*")) / STATE
    state.write_bytes(pickle.dumps({"epoch": 1, "payload": _Payload(marker)}))

    with pytest.raises(JobFailed, match="cannot be read.*remove the folder"):
        load_checkpoint(tmp_path)
    assert not marker.exists()


def test_a_meter_built_when_the_first_epoch_ends_leaves_resume_exact(
    tmp_path: Path,
) -> None:
    data = digits(None)
    builds: list[int] = []

    def make_meter() -> QualityMeter:
        # A real meter: its network's initial weights draw random numbers.
        builds.append(1)
        return build_meter(data, tmp_path / "cache", CPU, weights=tmp_path / "none")

    whole = train(
        spec_for("vae", 3), data, CPU, Recorder(), tmp_path / "whole", None, make_meter
    )
    train(
        spec_for("vae", 1), data, CPU, Recorder(), tmp_path / "split", None, make_meter
    )
    checkpoint = load_checkpoint(tmp_path / "split")
    rest = train(
        spec_for("vae", 3),
        data,
        CPU,
        Recorder(),
        tmp_path / "split",
        checkpoint,
        make_meter,
    )

    assert len(builds) == 3  # once a run, not once an epoch
    assert [m["fd_classifier"] for m in rest.epoch_means] == [
        m["fd_classifier"] for m in whole.epoch_means
    ]
    a, b = load_checkpoint(tmp_path / "whole"), load_checkpoint(tmp_path / "split")
    assert a is not None and b is not None
    for name, tensor in a.model.items():
        assert torch.equal(tensor, b.model[name]), name
