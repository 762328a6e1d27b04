"""Warnings about a training run that goes on but has stopped learning.

A diverging run fails on its own (a non-finite loss); these runs do not, so the
worker names them in the job's log once an epoch, with what to change.
"""

from __future__ import annotations

# Below this many nats of KL per latent dimension, z carries next to nothing.
COLLAPSE_NATS = 0.01
# A discriminator output this close to 0 or 1 over an epoch has stopped moving.
PINNED_MARGIN = 0.01


def epoch_warnings(means: dict[str, float], latent_dim: int, lr: float) -> list[str]:
    """Every warning the epoch's means call for, in words for the job's log."""
    found = (collapse_warning(means, latent_dim), discriminator_warning(means, lr))
    return [warning for warning in found if warning is not None]


def collapse_warning(means: dict[str, float], latent_dim: int) -> str | None:
    """A warning when a VAE's posterior has collapsed onto its prior, else None.

    With KL near zero per latent dimension the decoder ignores z and every sample
    looks alike (Bowman et al. 2016 call it posterior collapse).
    """
    if "kl" not in means:
        return None
    per_dimension = means["kl"] / latent_dim
    if per_dimension >= COLLAPSE_NATS:
        return None
    return (
        f"Posterior collapse: the KL term is {per_dimension:.4f} nats per latent "
        "dimension, so the decoder is ignoring z; lower kl_weight or latent_dim, "
        "or train longer."
    )


def discriminator_warning(means: dict[str, float], lr: float) -> str | None:
    """A warning when a GAN's discriminator outputs are pinned at 0 or 1, else None.

    D(x) near 1 with D(G(z)) near 0 over a whole epoch means the discriminator
    has won; both near 1, or both near 0, that it has saturated. Either way its
    gradients vanish and the samples stop improving, while the losses stay
    finite, so nothing else stops the run.
    """
    real, fake = means.get("d_real"), means.get("d_fake")
    if real is None or fake is None or not (_is_pinned(real) and _is_pinned(fake)):
        return None
    state = "has won" if real > fake else "has saturated"
    return (
        f"The discriminator {state}: D(x) averaged {real:.4f} and D(G(z)) "
        f"{fake:.4f} this epoch, so the generator is no longer learning; lower "
        f"the learning rate (now {lr:g}) or start again with another seed."
    )


def _is_pinned(probability: float) -> bool:
    return probability <= PINNED_MARGIN or probability >= 1.0 - PINNED_MARGIN
