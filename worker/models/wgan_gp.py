"""The Wasserstein GAN with gradient penalty of Gulrajani et al. (2017).

"Improved Training of Wasserstein GANs": a critic that scores images with an
unbounded real number, kept near 1-Lipschitz by penalizing its gradient norm on
random interpolates between real and generated images. The generator is DCGAN's.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from worker.models.base import ImageGenerator
from worker.models.conv import down_stack, head
from worker.models.dcgan import WIDTH, ConvGenerator, init_dcgan_weights

# The penalty weight lambda of the paper's Algorithm 1.
PENALTY_WEIGHT = 10.0


class Critic(nn.Module):
    """D(x): a real-valued score; strided convs with layer norm, no BatchNorm.

    BatchNorm would make each score depend on the rest of the batch, and the
    penalty is defined per sample (Gulrajani et al. 2017, section 4).
    """

    def __init__(self, image_shape: tuple[int, int, int], width: int = WIDTH) -> None:
        super().__init__()
        self.features = down_stack(image_shape, width, "layer")  # [B, top, b, b]
        self.head = head(image_shape, width, 1)  # [B, 1, 1, 1]

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Return scores [B] for images [B, C, S, S] in [0, 1]."""
        return self.head(self.features(x * 2 - 1)).flatten()


class WGANGP(nn.Module):
    """DCGAN's generator and a layer-normed critic, saved as one state dict."""

    generator: ImageGenerator

    def __init__(self, image_shape: tuple[int, int, int], latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_classes = 0
        self.generator = ConvGenerator(image_shape, latent_dim)
        init_dcgan_weights(self.generator)
        # The critic keeps PyTorch's default init: behind layer norm, DCGAN's small
        # N(0, 0.02) weights gave input-gradient norms near 7 at the start (about 2
        # with the defaults), so the penalty alone drove the first critic updates.
        self.critic = Critic(image_shape)

    def noise(self, batch: int, device: torch.device) -> Tensor:
        """Draw z ~ N(0, I) [batch, latent] from the global (seeded) generator."""
        return torch.randn(batch, self.latent_dim, device=device)


def gradient_penalty(critic: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
    """E[(||grad D(x_hat)||_2 - 1)^2] on x_hat between real and fake (eq. 3).

    Gulrajani et al. (2017), section 4: x_hat = eps * x + (1 - eps) * G(z) with
    eps ~ U[0, 1] per sample. The gradient is taken in the data's own [0, 1] pixel
    units. create_graph keeps the penalty differentiable in the critic's weights.
    """
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(mixed)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grads.float().flatten(1).norm(2, dim=1)  # [B]
    return (norms - 1).pow(2).mean()
