"""One optimizer step of a GAN: the MLP, DCGAN and conditional ones alike."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from worker.models.gan import AdversarialPair
from worker.training.accel import PLAIN, Accelerator
from worker.training.fetch import fetch_finite
from worker.training.grids import class_rows


class GanSteps:
    """Alternating Adam updates of discriminator and generator."""

    def __init__(
        self, gan: AdversarialPair, lr: float, accel: Accelerator = PLAIN
    ) -> None:
        self.model = gan
        self.accel = accel
        # beta1 = 0.5 steadies the adversarial game (Radford et al. 2016).
        betas = (0.5, 0.999)
        self.opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr, betas=betas)
        self.opt_g = torch.optim.Adam(gan.generator.parameters(), lr, betas=betas)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"discriminator": self.opt_d, "generator": self.opt_g}

    def counters(self) -> dict[str, int]:
        return {}

    def restore_counters(self, counters: dict[str, int]) -> None:
        """The GAN keeps no counters of its own."""

    def step(self, x: Tensor, labels: Tensor | None = None) -> dict[str, float]:
        """Update D, then G, on one real minibatch; fakes take the real labels."""
        values = self.d_step(x, labels)
        values.update(self.g_step(x.shape[0], labels))
        return values

    def d_step(self, real: Tensor, labels: Tensor | None = None) -> dict[str, float]:
        """Maximize log D(x) + log(1 - D(G(z))) (Goodfellow et al. 2014, eq. 1).

        Conditional GANs put y beside x and z (Mirza and Osindero 2014, eq. 2).
        """
        discriminator = self.model.discriminator
        z = self.model.noise(real.shape[0], real.device)
        with self.accel.autocast():
            # Detached, so this block leaves the generator's gradients untouched.
            fake = self.model.generator(z, labels).detach()
            real_logits = discriminator(real, labels).float()
            fake_logits = discriminator(fake, labels).float()
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

    def g_step(self, batch: int, labels: Tensor | None = None) -> dict[str, float]:
        """Maximize log D(G(z)), the non-saturating loss (Goodfellow et al. 2014).

        Section 3 of the paper: it gives G strong gradients early on, while D still
        rejects its fakes easily. A conditional G without labels draws them
        uniformly.
        """
        device = next(self.model.parameters()).device
        labels = self._labels_for(batch, labels, device)
        with self.accel.autocast():
            fake = self.model.generator(self.model.noise(batch, device), labels)
            logits = self.model.discriminator(fake, labels).float()
        loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        values = fetch_finite({"g_loss": loss})
        self.opt_g.step()
        return values

    def _labels_for(
        self, batch: int, labels: Tensor | None, device: torch.device
    ) -> Tensor | None:
        if labels is not None or self.model.num_classes == 0:
            return labels
        return torch.randint(self.model.num_classes, (batch,), device=device)

    def check_shapes(self, x: Tensor, labels: Tensor | None = None) -> None:
        """Run D on real images and G on noise so a bad shape fails early."""
        self.model.discriminator(x, labels)
        z = self.model.noise(x.shape[0], x.device)
        self.model.discriminator(self.model.generator(z, labels), labels)

    def snapshot(
        self, z: Tensor, originals: Tensor, labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Samples from the fixed z, one row per class for a conditional GAN."""
        grid_z, grid_labels = class_rows(z, self.model.num_classes)
        return {"samples": self.model.generator.sample(grid_z, grid_labels)}
