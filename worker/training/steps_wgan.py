"""One optimizer step of WGAN-GP: a critic update, and every n-th a generator one.

Each loop step brings a fresh real minibatch, and the critic trains on every one
of them; the generator moves after every `critic_steps`-th critic update. That is
Algorithm 1 of Gulrajani et al. (2017), where each generator iteration consumes
n_critic real minibatches, so an epoch holds about steps / critic_steps generator
updates.
"""

from __future__ import annotations

import torch
from torch import Tensor

from worker.models.wgan_gp import PENALTY_WEIGHT, WGANGP, gradient_penalty
from worker.training.accel import PLAIN, Accelerator
from worker.training.fetch import fetch_finite


class WganGpSteps:
    """Adam on the critic's Wasserstein loss with gradient penalty, and on G's."""

    def __init__(
        self,
        wgan: WGANGP,
        lr: float,
        critic_steps: int = 5,
        accel: Accelerator = PLAIN,
    ) -> None:
        self.model = wgan
        self.critic_steps = critic_steps
        self.accel = accel
        self.critic_updates = 0
        # Algorithm 1 lists beta1 = 0; the authors' released code uses 0.5 and 0.9.
        betas = (0.5, 0.9)
        self.opt_c = torch.optim.Adam(wgan.critic.parameters(), lr, betas=betas)
        self.opt_g = torch.optim.Adam(wgan.generator.parameters(), lr, betas=betas)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"critic": self.opt_c, "generator": self.opt_g}

    def counters(self) -> dict[str, int]:
        # Which critic step comes next decides when the generator moves.
        return {"critic_updates": self.critic_updates}

    def restore_counters(self, counters: dict[str, int]) -> None:
        self.critic_updates = counters.get("critic_updates", 0)

    def step(self, x: Tensor, labels: Tensor | None = None) -> dict[str, float]:
        """Update the critic on x; every critic_steps-th call, update G as well.

        g_loss is -E[D(G(z))] under the current critic on every step, so the
        metric has a value even when the generator does not move.
        """
        values = self.critic_step(x)
        if self.critic_updates % self.critic_steps == 0:
            values.update(self.g_step(x.shape[0]))
        return values

    def critic_step(self, real: Tensor) -> dict[str, float]:
        """Take one critic step on the Wasserstein loss with gradient penalty.

        Minimizes E[D(G(z))] - E[D(x)] + lambda * penalty, lambda = 10
        (Gulrajani et al. 2017, eq. 3).
        """
        critic = self.model.critic
        z = self.model.noise(real.shape[0], real.device)
        with self.accel.autocast():
            # Detached, so this block leaves the generator's gradients untouched.
            fake = self.model.generator(z).detach()
            real_score = critic(real).float().mean()
            fake_score = critic(fake).float().mean()
            penalty = gradient_penalty(critic, real, fake.to(real.dtype))
        loss = fake_score - real_score + PENALTY_WEIGHT * penalty
        self.opt_c.zero_grad(set_to_none=True)
        loss.backward()
        values = fetch_finite(
            {
                "critic_loss": loss,
                "g_loss": -fake_score,
                "gradient_penalty": penalty,
                "wasserstein": real_score - fake_score,
            }
        )
        self.opt_c.step()
        self.critic_updates += 1
        return values

    def g_step(self, batch: int) -> dict[str, float]:
        """Minimize -E[D(G(z))], the generator's side of the Wasserstein loss."""
        device = next(self.model.parameters()).device
        with self.accel.autocast():
            fake = self.model.generator(self.model.noise(batch, device))
            loss = -self.model.critic(fake).float().mean()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        values = fetch_finite({"g_loss": loss})
        self.opt_g.step()
        return values

    def check_shapes(self, x: Tensor, labels: Tensor | None = None) -> None:
        """Run the critic on real images and G on noise so a bad shape fails early."""
        self.model.critic(x)
        self.model.critic(self.model.generator(self.model.noise(x.shape[0], x.device)))

    def snapshot(
        self, z: Tensor, originals: Tensor, labels: Tensor | None = None
    ) -> dict[str, Tensor]:
        """Samples from the fixed z; a WGAN has nothing to reconstruct."""
        return {"samples": self.model.generator.sample(z)}
