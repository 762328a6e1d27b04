"""The noise behind each generated image, and paths between two noise vectors.

Image k of seed s has noise of its own, drawn from a torch.Generator seeded with
`image_seed(s, k)`, so it is the same however many images are drawn with it.
Noise is drawn on the CPU, whatever device decodes it, so a seed means the same
images on every machine up to the device's float rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

# A prime larger than the most images a job may draw (1024), so (seed, k) pairs
# never share a generator seed: s * P + k is unique while k < P.
SEED_STRIDE = 1_000_003
# torch.Generator takes seeds below 2**64; the modulus keeps it at 2**63 so the
# seed also fits a signed 64-bit integer. Seeds up to 2**32 never reach it.
SEED_MODULUS = 2**63
# Below this sin(angle), slerp's divisor loses its precision: the vectors are
# nearly parallel (a straight line is as good) or nearly opposite (no one great
# circle joins them, and the straight line is the only defined path).
SLERP_MIN_SINE = 1e-4

Method = Literal["linear", "slerp"]


def image_seed(seed: int, index: int) -> int:
    """The generator seed of image `index` drawn with `seed`."""
    return (seed * SEED_STRIDE + index) % SEED_MODULUS


def image_noise(seed: int, indices: Sequence[int], latent_dim: int) -> Tensor:
    """Noise [len(indices), latent_dim] on the CPU: row i is image indices[i]'s."""
    rows = [
        torch.randn(latent_dim, generator=torch.Generator().manual_seed(seed_k))
        for seed_k in (image_seed(seed, index) for index in indices)
    ]
    return torch.stack(rows)


def interpolate_noise(z_a: Tensor, z_b: Tensor, steps: int, method: Method) -> Tensor:
    """`steps` points [steps, latent] from z_a to z_b [latent], both ends included."""
    t = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)[:, None]  # [steps, 1]
    a, b = z_a.double()[None], z_b.double()[None]  # [1, latent]
    path = slerp(a, b, t) if method == "slerp" else lerp(a, b, t)
    return path.to(z_a.dtype)


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """The straight line (1 - t) a + t b."""
    return (1.0 - t) * a + t * b


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (Shoemake 1985), as White (2016) uses it for GANs.

    Gaussian noise in many dimensions lies near a sphere; a straight line between
    two points cuts through its inside, where the generator saw little noise in
    training. Nearly parallel or opposite vectors fall back to the straight line.
    """
    cosine = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    angle = torch.arccos(cosine.clamp(-1.0, 1.0))[:, None]  # [1, 1]
    sine = torch.sin(angle)
    if float(sine) < SLERP_MIN_SINE:
        return lerp(a, b, t)
    return torch.sin((1.0 - t) * angle) / sine * a + torch.sin(t * angle) / sine * b
