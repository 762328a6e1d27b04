"""Training health: divergence keeps the last good checkpoint; collapse is named,
and so is a discriminator that has won."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from shared.spec import TrainSpec
from tests.worker.test_checkpoints import CPU, digits
from tests.worker.test_training import Recorder
from worker.checkpoints import load_checkpoint
from worker.health import collapse_warning, discriminator_warning, epoch_warnings
from worker.training import TrainingDiverged, train


def test_a_diverging_run_fails_and_leaves_the_last_good_checkpoint(
    tmp_path: Path,
) -> None:
    fields = {"model": "vae", "dataset": "digits", "batch_size": 64, "latent_dim": 8}
    good = digits(None)
    train(TrainSpec.from_json({**fields, "epochs": 2}), good, CPU, Recorder(), tmp_path)
    before = load_checkpoint(tmp_path)
    poisoned = replace(good, images=torch.full_like(good.images, float("nan")))
    assert before is not None

    with pytest.raises(TrainingDiverged, match="diverged at step 5"):
        spec = TrainSpec.from_json({**fields, "epochs": 4})
        train(spec, poisoned, CPU, Recorder(), tmp_path, before)

    after = load_checkpoint(tmp_path)
    assert after is not None and after.epoch == 2
    for name, tensor in before.model.items():
        assert torch.equal(tensor, after.model[name])
        assert torch.isfinite(after.model[name]).all()


def test_posterior_collapse_is_named_with_the_way_out() -> None:
    warning = collapse_warning({"loss": 200.0, "kl": 0.02}, latent_dim=20)

    assert warning is not None and "Posterior collapse" in warning
    assert "0.0010 nats per latent dimension" in warning
    assert collapse_warning({"loss": 200.0, "kl": 9.0}, latent_dim=20) is None
    assert collapse_warning({"d_loss": 1.0}, latent_dim=20) is None


def test_a_discriminator_that_has_won_or_saturated_is_named_with_the_learning_rate() -> (
    None
):
    won = {"d_loss": 0.0001, "g_loss": 26000.0, "d_real": 0.9999, "d_fake": 0.0002}
    fighting = {"d_loss": 1.2, "g_loss": 0.9, "d_real": 0.62, "d_fake": 0.35}

    warning = discriminator_warning(won, lr=1.0)

    assert warning is not None and "discriminator has won" in warning
    assert "D(x) averaged 0.9999 and D(G(z)) 0.0002" in warning
    assert "(now 1)" in warning
    assert discriminator_warning(fighting, lr=2e-4) is None
    saturated = discriminator_warning({"d_real": 1.0, "d_fake": 1.0}, lr=1.0)
    assert saturated is not None and "discriminator has saturated" in saturated
    assert discriminator_warning({"loss": 3.0, "kl": 0.0}, lr=1e-3) is None
    assert epoch_warnings({**won, "kl": 0.0}, latent_dim=8, lr=1.0) == [
        collapse_warning({"kl": 0.0}, 8),
        warning,
    ]
