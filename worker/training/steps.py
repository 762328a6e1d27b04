"""One optimizer step for each model kind, kept apart from the loop around them.

Each step fetches its losses to Python floats in one device sync and refuses a
non-finite value before the optimizer moves, so a diverged run never writes NaN
weights over its last good ones.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from worker.models.gan import GAN
from worker.models.vae import VAE, vae_loss


class NonFiniteLoss(ArithmeticError):
    """A loss came out NaN or infinite; the loop turns this into TrainingDiverged."""

    def __init__(self, name: str, value: float) -> None:
        super().__init__(f"{name} is {value}")
        self.name = name
        self.value = value


def fetch_finite(values: dict[str, Tensor]) -> dict[str, float]:
    """Copy scalar tensors to floats in one sync; raise NonFiniteLoss on NaN/inf."""
    floats = torch.stack([v.detach() for v in values.values()]).tolist()
    fetched = dict(zip(values, floats, strict=True))
    for name, value in fetched.items():
        if not math.isfinite(value):
            raise NonFiniteLoss(name, value)
    return fetched


class VaeSteps:
    """Adam on the negative ELBO of a VAE."""

    def __init__(self, vae: VAE, lr: float) -> None:
        self.model = vae
        self.optimizer = torch.optim.Adam(vae.parameters(), lr=lr)

    def step(self, x: Tensor) -> dict[str, float]:
        """Minimize reconstruction + KL (Kingma and Welling 2014, eq. 10) on flat x."""
        logits, mu, logvar = self.model(x)
        losses = vae_loss(logits, x, mu, logvar)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        values = fetch_finite(losses)
        self.optimizer.step()
        return values

    def check_shapes(self, x: Tensor) -> None:
        """Run one forward pass so a bad shape fails before the first step."""
        self.model(x)

    def snapshot(self, z: Tensor, originals: Tensor) -> dict[str, Tensor]:
        """Samples from fixed z; fixed originals interleaved with reconstructions."""
        shape = originals.shape[1:]
        reconstructions = self.model.reconstruct(originals.flatten(1)).view(-1, *shape)
        return {
            "samples": self.model.decoder.sample(z),
            "reconstructions": interleave_rows(originals, reconstructions),
        }


class GanSteps:
    """Alternating Adam updates of discriminator and generator."""

    def __init__(self, gan: GAN, lr: float) -> None:
        self.model = gan
        # beta1 = 0.5 steadies the adversarial game (Radford et al. 2016).
        betas = (0.5, 0.999)
        self.opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr, betas=betas)
        self.opt_g = torch.optim.Adam(gan.generator.parameters(), lr, betas=betas)

    def step(self, x: Tensor) -> dict[str, float]:
        """Update D, then G, on one real minibatch of flat images."""
        values = self.d_step(x)
        values.update(self.g_step(x.shape[0]))
        return values

    def d_step(self, real: Tensor) -> dict[str, float]:
        """Maximize log D(x) + log(1 - D(G(z))) (Goodfellow et al. 2014, eq. 1)."""
        discriminator = self.model.discriminator
        z = self.model.noise(real.shape[0], real.device)
        # Detached, so this block leaves the generator's gradients untouched.
        fake = self.model.generator(z).detach()
        real_logits = discriminator(real)
        fake_logits = discriminator(fake)
        loss = F.binary_cross_entropy_with_logits(
            real_logits, torch.ones_like(real_logits)
        ) + F.binary_cross_entropy_with_logits(
            fake_logits, torch.zeros_like(fake_logits)
        )
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        values = fetch_finite(
            {
                "d_loss": loss,
                "d_real": torch.sigmoid(real_logits).mean(),
                "d_fake": torch.sigmoid(fake_logits).mean(),
            }
        )
        self.opt_d.step()
        return values

    def g_step(self, batch: int) -> dict[str, float]:
        """Maximize log D(G(z)), the non-saturating loss (Goodfellow et al. 2014).

        Section 3 of the paper: it gives G strong gradients early on, while D still
        rejects its fakes easily.
        """
        device = next(self.model.parameters()).device
        logits = self.model.discriminator(
            self.model.generator(self.model.noise(batch, device))
        )
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        values = fetch_finite({"g_loss": loss})
        self.opt_g.step()
        return values

    def check_shapes(self, x: Tensor) -> None:
        """Run D on real images and G on noise so a bad shape fails early."""
        self.model.discriminator(x)
        self.model.discriminator(self.model.generator(self.model.noise(2, x.device)))

    def snapshot(self, z: Tensor, originals: Tensor) -> dict[str, Tensor]:
        """Samples from the fixed z; a GAN has nothing to reconstruct."""
        return {"samples": self.model.generator.sample(z)}


def interleave_rows(originals: Tensor, reconstructions: Tensor, row: int = 8) -> Tensor:
    """Stack each row of `row` originals above its row of reconstructions.

    Both are padded with black images to a whole number of rows first, so a grid
    with nrow=row keeps every pair in the same column.
    """
    count = originals.shape[0]
    padded = math.ceil(count / row) * row
    pairs = torch.zeros(2, padded, *originals.shape[1:], device=originals.device)
    pairs[0, :count] = originals
    pairs[1, :count] = reconstructions
    # [2, rows, row, C, H, W] -> [rows, 2, row, C, H, W]: originals then their copies.
    stacked = pairs.view(2, padded // row, row, *originals.shape[1:]).transpose(0, 1)
    return stacked.reshape(-1, *originals.shape[1:])
