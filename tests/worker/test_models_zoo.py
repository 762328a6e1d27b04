"""The conv, Wasserstein, beta and conditional models keep their papers' promises."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import Tensor, nn

from shared.spec import ModelKind, TrainSpec
from tests.data_paths import mnist_dir
from worker.datasets import ImageSet, load_images
from worker.models import Model, build_model, generative_part
from worker.models.cgan import CGAN
from worker.models.conv_vae import ConvVAE
from worker.models.cvae import CVAE
from worker.models.dcgan import DCGAN, ConvDiscriminator
from worker.models.vae import VAE, VariationalAutoencoder, vae_loss
from worker.models.wgan_gp import WGANGP, gradient_penalty
from worker.training.steps import GanSteps, VaeSteps, WganGpSteps, class_rows

MNIST = (1, 28, 28)


@functools.cache
def mnist(count: int) -> ImageSet:
    spec = TrainSpec(model="vae", dataset=str(mnist_dir()), max_images=count)
    return load_images(spec)


def adam_steps(optimizer: torch.optim.Optimizer) -> int:
    """How many times an Adam optimizer has stepped, from its per-parameter state."""
    first = next(iter(optimizer.param_groups[0]["params"]))
    state = optimizer.state.get(first, {})
    return int(state["step"]) if "step" in state else 0


def test_dcgan_starts_from_the_papers_normal_weights() -> None:
    torch.manual_seed(0)
    dcgan = DCGAN((3, 64, 64), 100)
    convs = [
        m for m in dcgan.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]
    norms = [m for m in dcgan.modules() if isinstance(m, nn.BatchNorm2d)]

    scales = torch.cat([m.weight.detach() for m in norms])

    assert len(convs) == 10 and len(norms) == 7
    for conv in convs:
        assert conv.weight.std().item() == pytest.approx(0.02, abs=0.002)
        assert conv.weight.mean().item() == pytest.approx(0.0, abs=0.002)
    assert scales.mean().item() == pytest.approx(1.0, abs=0.005)
    assert scales.std().item() == pytest.approx(0.02, abs=0.004)


def test_dcgan_discriminator_has_no_batchnorm_on_its_first_layer() -> None:
    discriminator = ConvDiscriminator((1, 32, 32))

    layers = list(discriminator.features)

    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)
    assert layers[1].negative_slope == 0.2
    assert any(isinstance(m, nn.BatchNorm2d) for m in layers[2:])


@pytest.mark.parametrize("kind", ["dcgan", "wgan_gp", "conv_vae"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 64, 64)])
def test_conv_models_draw_images_of_each_supported_shape(
    kind: ModelKind, shape: tuple[int, int, int]
) -> None:
    model = build_model(kind, shape, 8)

    images = generative_part(model.eval()).sample(torch.randn(2, 8))

    assert images.shape == (2, *shape)
    assert images.min() >= 0.0 and images.max() <= 1.0


@pytest.mark.parametrize("kind", ["dcgan", "wgan_gp", "conv_vae"])
def test_conv_models_refuse_sides_their_stacks_cannot_reach(kind: ModelKind) -> None:
    with pytest.raises(ValueError, match="28, 32 or 64 pixels, got 40x40"):
        build_model(kind, (1, 40, 40), 8)


def test_discriminator_and_critic_return_one_number_per_image() -> None:
    x = torch.rand(3, 3, 32, 32)

    logits = DCGAN((3, 32, 32), 8).discriminator(x)
    scores = WGANGP((3, 32, 32), 8).critic(x)

    assert logits.shape == (3,) and scores.shape == (3,)


def test_critic_has_no_batchnorm() -> None:
    critic = WGANGP((1, 28, 28), 8).critic

    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in critic.modules())


class UnitLinearCritic(nn.Module):
    """D(x) = <w, x> with ||w|| = 1: exactly 1-Lipschitz, gradient norm 1 everywhere."""

    def __init__(self, pixels: int) -> None:
        super().__init__()
        weight = torch.randn(pixels)
        self.weight = nn.Parameter(weight / weight.norm())

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(1) @ self.weight


def test_gradient_penalty_vanishes_for_a_unit_gradient_critic() -> None:
    torch.manual_seed(0)
    real, fake = mnist(16).images, torch.rand(16, *MNIST)
    critic = UnitLinearCritic(784)

    penalty = gradient_penalty(critic, real, fake)
    with torch.no_grad():
        critic.weight.mul_(3.0)
    steep = gradient_penalty(critic, real, fake)

    assert penalty.item() == pytest.approx(0.0, abs=1e-10)
    assert steep.item() == pytest.approx(4.0, rel=1e-5)  # (3 - 1)^2


def test_gradient_penalty_is_nonnegative_and_reaches_the_critic() -> None:
    torch.manual_seed(0)
    wgan = WGANGP(MNIST, 8)
    fake = wgan.generator(torch.randn(16, 8)).detach()

    penalty = gradient_penalty(wgan.critic, mnist(16).images, fake)
    penalty.backward()

    assert penalty.item() >= 0.0
    # Every weight shapes the critic's input gradient; its last bias does not.
    weights = [p for n, p in wgan.critic.named_parameters() if n.endswith("weight")]
    assert all(w.grad is not None and w.grad.abs().sum() > 0 for w in weights)
    assert all(p.grad is None for p in wgan.generator.parameters())


def test_critic_takes_critic_steps_updates_per_generator_update() -> None:
    torch.manual_seed(0)
    steps = WganGpSteps(WGANGP(MNIST, 8), lr=1e-4, critic_steps=2)
    batch = mnist(16).images

    losses = [steps.step(batch) for _ in range(5)]

    assert (adam_steps(steps.opt_c), adam_steps(steps.opt_g)) == (5, 2)
    for values in losses:
        assert set(values) == {
            "critic_loss",
            "g_loss",
            "gradient_penalty",
            "wasserstein",
        }
        assert values["gradient_penalty"] >= 0.0
        expected = -values["wasserstein"] + 10.0 * values["gradient_penalty"]
        assert values["critic_loss"] == pytest.approx(expected, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("model", [VAE(MNIST, 8), ConvVAE(MNIST, 8)])
def test_beta_zero_leaves_only_the_reconstruction_term(
    model: VariationalAutoencoder,
) -> None:
    torch.manual_seed(0)
    steps = VaeSteps(model, lr=1e-3, kl_weight=0.0)

    losses = steps.step(mnist(32).images)

    assert losses["kl"] > 0.0
    assert losses["loss"] == losses["reconstruction"]


def test_kl_weight_scales_only_the_kl_term() -> None:
    torch.manual_seed(0)
    x = mnist(16).images
    logits, mu, logvar = VAE(MNIST, 8)(x)

    plain = vae_loss(logits, x, mu, logvar)
    beta = vae_loss(logits, x, mu, logvar, kl_weight=4.0)

    assert torch.equal(beta["reconstruction"], plain["reconstruction"])
    assert torch.allclose(beta["loss"], plain["reconstruction"] + 4.0 * plain["kl"])


def test_conv_vae_has_separate_mean_and_variance_heads() -> None:
    vae = ConvVAE((3, 32, 32), 8)

    mu, logvar = vae.encoder(torch.rand(4, 3, 32, 32))

    assert vae.encoder.mu is not vae.encoder.logvar
    assert mu.shape == logvar.shape == (4, 8)
    assert not torch.equal(mu, logvar)


@pytest.mark.parametrize("kind", ["cgan", "cvae"])
def test_conditional_generator_draws_a_different_image_per_label(
    kind: ModelKind,
) -> None:
    torch.manual_seed(0)
    generator = generative_part(build_model(kind, MNIST, 8, num_classes=10))
    z = torch.randn(1, 8).repeat(10, 1)

    images = generator.sample(z, torch.arange(10))

    assert images.shape == (10, *MNIST)
    assert not torch.equal(images[0], images[1])


@pytest.mark.parametrize("model", [CGAN(MNIST, 8, 10), CVAE(MNIST, 8, 10)])
def test_conditional_sample_without_labels_goes_through_the_classes(
    model: Model,
) -> None:
    generator = generative_part(model)
    z = torch.randn(12, 8)

    cycled = generator.sample(z)
    explicit = generator.sample(z, torch.arange(12) % 10)

    assert torch.equal(cycled, explicit)


def test_conditional_networks_refuse_a_call_without_labels() -> None:
    cgan = CGAN(MNIST, 8, 10)

    with pytest.raises(ValueError, match="cgan discriminator is conditional"):
        cgan.discriminator(torch.rand(2, *MNIST))


def test_conditional_gan_step_gives_finite_losses_on_labelled_mnist() -> None:
    torch.manual_seed(0)
    data = mnist(64)
    assert data.labels is not None
    steps = GanSteps(CGAN(MNIST, 8, 10), lr=2e-4)

    losses = steps.step(data.images, data.labels)

    assert set(losses) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())


def test_class_rows_repeat_eight_noise_vectors_once_per_class() -> None:
    z = torch.randn(64, 4)

    grid_z, labels = class_rows(z, 3)

    assert labels is not None and labels.tolist() == [0] * 8 + [1] * 8 + [2] * 8
    assert torch.equal(grid_z.view(3, 8, 4)[2], z[:8])
    assert class_rows(z, 0) == (z, None)
