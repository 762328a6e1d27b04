"""The VAE and GAN compute the losses of their papers and update the right nets."""

from __future__ import annotations

import functools

import pytest
import torch

from shared.spec import TrainSpec
from tests.data_paths import mnist_dir
from worker.datasets import load_images
from worker.models.gan import GAN
from worker.models.vae import VAE, kl_divergence, vae_loss
from worker.training.steps import GanSteps, VaeSteps, interleave_rows

SHAPE = (1, 28, 28)


@functools.cache
def mnist_flat(count: int) -> torch.Tensor:
    spec = TrainSpec(model="vae", dataset=str(mnist_dir()), max_images=count)
    return load_images(spec).images.flatten(1)


def unchanged(before: list[torch.Tensor], module: torch.nn.Module) -> list[bool]:
    """Say, per parameter, whether it still equals its copy in `before`."""
    after = list(module.parameters())
    return [torch.equal(a, b) for a, b in zip(before, after, strict=True)]


def test_kl_is_zero_for_the_prior_itself() -> None:
    mu, logvar = torch.zeros(4, 20), torch.zeros(4, 20)

    assert torch.equal(kl_divergence(mu, logvar), torch.zeros(4))


def test_kl_is_half_per_dimension_for_unit_mean() -> None:
    mu, logvar = torch.ones(3, 20), torch.zeros(3, 20)

    assert torch.allclose(kl_divergence(mu, logvar), torch.full((3,), 10.0))


def test_kl_matches_torch_distributions() -> None:
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros(5, 7), torch.ones(5, 7))

    expected = torch.distributions.kl_divergence(q, prior).sum(1)

    assert torch.allclose(kl_divergence(mu, logvar), expected, atol=1e-5)


def test_kl_is_never_negative_even_for_extreme_log_variances() -> None:
    generator = torch.Generator().manual_seed(0)
    logvar = torch.rand(1000, 16, generator=generator) * 60 - 30
    tiny = torch.linspace(-1e-6, 1e-6, 16).expand(1000, 16)
    mu = torch.randn(1000, 16, generator=generator) * 1e-4

    assert (kl_divergence(mu, logvar) >= 0).all()
    assert (kl_divergence(torch.zeros(1000, 16), tiny) >= 0).all()


def test_vae_loss_is_reconstruction_plus_kl_averaged_over_batch() -> None:
    torch.manual_seed(0)
    vae, x = VAE(SHAPE, 8), mnist_flat(16)
    logits, mu, logvar = vae(x)

    losses = vae_loss(logits, x, mu, logvar)

    assert torch.allclose(losses["loss"], losses["reconstruction"] + losses["kl"])
    one = vae_loss(logits[:1], x[:1], mu[:1], logvar[:1])["reconstruction"]
    assert one.item() > 100  # summed over 784 pixels, not averaged


def test_vae_heads_are_separate_and_sample_is_an_image_in_unit_range() -> None:
    vae = VAE(SHAPE, 8)

    images = vae.decoder.sample(torch.randn(5, 8) * 10)

    assert vae.encoder.mu is not vae.encoder.logvar
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_vae_step_lowers_loss_on_the_same_batch() -> None:
    torch.manual_seed(0)
    steps, x = VaeSteps(VAE(SHAPE, 8), lr=1e-3), mnist_flat(128)

    first = steps.step(x)["loss"]
    for _ in range(20):
        last = steps.step(x)["loss"]

    assert last < first


def test_gan_step_gives_finite_losses_and_probabilities() -> None:
    torch.manual_seed(0)
    steps = GanSteps(GAN(SHAPE, 16), lr=2e-4)

    losses = steps.step(mnist_flat(64))

    assert set(losses) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert 0.0 <= losses["d_real"] <= 1.0 and 0.0 <= losses["d_fake"] <= 1.0


def test_discriminator_step_leaves_generator_untouched() -> None:
    torch.manual_seed(0)
    gan = GAN(SHAPE, 16)
    steps = GanSteps(gan, lr=1e-2)
    before_g = [p.detach().clone() for p in gan.generator.parameters()]
    before_d = [p.detach().clone() for p in gan.discriminator.parameters()]

    steps.d_step(mnist_flat(64))

    # Detached fakes: no gradient ever reached G, let alone an update.
    assert all(p.grad is None for p in gan.generator.parameters())
    assert all(unchanged(before_g, gan.generator))
    assert not any(unchanged(before_d, gan.discriminator))


def test_generator_step_updates_only_the_generator() -> None:
    torch.manual_seed(0)
    gan = GAN(SHAPE, 16)
    steps = GanSteps(gan, lr=1e-2)
    before_d = [p.detach().clone() for p in gan.discriminator.parameters()]

    losses = steps.g_step(32)

    assert losses["g_loss"] > 0
    assert all(unchanged(before_d, gan.discriminator))


def test_discriminator_returns_logits_and_generator_images() -> None:
    gan = GAN(SHAPE, 16)

    logits = gan.discriminator(torch.rand(4, 784) * 100)
    images = gan.generator.sample(torch.randn(4, 16))

    assert logits.shape == (4,)
    assert (logits.abs() > 1).any()  # not squashed into (0, 1)
    assert images.shape == (4, 1, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize("count", [8, 11, 32])
def test_reconstruction_rows_alternate_originals_and_copies(count: int) -> None:
    originals = torch.rand(count, 1, 2, 2)
    copies = torch.rand(count, 1, 2, 2)

    rows = interleave_rows(originals, copies).view(-1, 8, 1, 2, 2)

    assert torch.equal(rows[0, :8], originals[:8])
    assert torch.equal(rows[1, :8], copies[:8])
    assert rows.shape[0] == 2 * -(-count // 8)
