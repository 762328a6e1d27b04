"""The baselines for training: plain PyTorch loops with nothing but the math.

They take the same modules and the same image tensors as genqueue's trainer and do
the same updates, but report nothing, save nothing and ask no one whether to stop;
each step's losses are fetched with ``.item()`` as the PyTorch examples do. What
genqueue's trainer costs beyond them is the cost it adds.

Run as a script (``python -m benchmarks.bare_loop IDX_FILE EPOCHS [LIMIT]``), it is the
memory row's baseline process: the MLP VAE written out in torch alone, trained on
an IDX file read with numpy, so the process holds torch and the data and nothing
else.
"""

from __future__ import annotations

import gzip
import math
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

LossFn = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
Autocast = Callable[[], AbstractContextManager[object]]


def train_vae(
    model: nn.Module,
    images: Tensor,
    batch_size: int,
    epochs: int,
    lr: float,
    loss_fn: LossFn | None = None,
    autocast: Autocast = nullcontext,
) -> tuple[float, int]:
    """Train a VAE on images [N, C, H, W]; return (seconds, steps).

    `loss_fn(logits, x, mu, logvar)` defaults to the negative ELBO written out here.
    The images may live on a GPU; `autocast` wraps each forward pass.
    """
    loss_fn = loss_fn or _negative_elbo
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    shuffler = torch.Generator().manual_seed(0)
    steps = 0
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=shuffler).to(images.device)
        for start in range(0, len(images), batch_size):
            x = images[order[start : start + batch_size]]
            with autocast():
                logits, mu, logvar = model(x)
            loss = loss_fn(logits.float(), x, mu.float(), logvar.float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss.item()
            steps += 1
    return time.perf_counter() - started, steps


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    images: Tensor,
    batch_size: int,
    epochs: int,
    lr: float,
    latent_dim: int,
    autocast: Autocast = nullcontext,
) -> tuple[float, int]:
    """Train a genqueue GAN's two networks as genqueue's GAN steps do.

    That is Goodfellow et al. (2014) with the non-saturating G loss, D on real and
    detached fakes, then G on fresh noise, Adam with betas (0.5, 0.999) for each.
    """
    betas = (0.5, 0.999)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr, betas=betas)
    opt_g = torch.optim.Adam(generator.parameters(), lr, betas=betas)
    shuffler = torch.Generator().manual_seed(0)
    steps = 0
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=shuffler).to(images.device)
        for start in range(0, len(images), batch_size):
            real = images[order[start : start + batch_size]]
            batch, device = real.shape[0], real.device
            # D: maximize log D(x) + log(1 - D(G(z))).
            with autocast():
                fake = generator(torch.randn(batch, latent_dim, device=device)).detach()
                real_logits = discriminator(real).float()
                fake_logits = discriminator(fake).float()
            d_loss = _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            # G: maximize log D(G(z)).
            with autocast():
                z = torch.randn(batch, latent_dim, device=device)
                logits = discriminator(generator(z)).float()
            g_loss = _bce(logits, 1.0)
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            d_loss.item(), g_loss.item()
            torch.sigmoid(real_logits).mean().item()
            torch.sigmoid(fake_logits).mean().item()
            steps += 1
    return time.perf_counter() - started, steps


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _negative_elbo(logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    # Bernoulli NLL summed over pixels plus the closed-form KL, averaged over the batch.
    batch = x.shape[0]
    nll = F.binary_cross_entropy_with_logits(
        logits.flatten(1), x.flatten(1), reduction="sum"
    )
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (nll + kl) / batch


class PlainVae(nn.Module):
    """The MLP VAE of Kingma and Welling (2014): 784-400-20, as genqueue builds it."""

    def __init__(self, pixels: int, latent: int = 20, hidden: int = 400) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, pixels)
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = self.hidden(x.flatten(1))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z).view_as(x), mu, logvar


def read_idx_images(path: Path, limit: int | None = None) -> Tensor:
    """An IDX image file as float32 [N, 1, H, W] in [0, 1], read with numpy alone."""
    data = gzip.decompress(path.read_bytes())
    count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    count = min(count, limit) if limit else count
    pixels = np.frombuffer(data, np.uint8, count * rows * cols, offset=16)
    array = pixels.reshape(count, 1, rows, cols).astype(np.float32) / 255.0
    return torch.from_numpy(array)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A live process's peak resident set so far in MB: its VmHWM, Linux only.

    Not getrusage's ru_maxrss, which keeps across exec the size a process had
    just after fork: the size of its parent.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def main(argv: list[str]) -> None:
    path, epochs = Path(argv[0]), int(argv[1])
    limit = int(argv[2]) if len(argv) > 2 else None
    images = read_idx_images(path, limit)
    torch.manual_seed(0)
    model = PlainVae(math.prod(images.shape[1:]))
    seconds, steps = train_vae(model, images, 128, epochs, 1e-3)
    print(f"steps {steps} seconds {seconds:.3f} peak_rss_mb {peak_rss_mb():.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
