"""The Fréchet distance between two sets of features, each taken as a Gaussian.

d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the Fréchet (2-Wasserstein)
distance of Dowson and Landau (1982), used on network features by Heusel et al.
(2017) as FID. The estimate is biased upwards for finite samples (Chong and
Forsyth 2020), so compare values only at equal sample counts.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

# Added to both covariances when their product has no usable square root, as the
# reference FID code does; small next to any feature variance worth measuring.
EPS = 1e-6
# Relative error of sqrt(X)^2 against X above which the root is not trusted.
SQRTM_TOLERANCE = 1e-4
# An imaginary part this small, relative to the trace, is round-off; more is not.
IMAGINARY_TOLERANCE = 1e-3
# A negative distance this small, relative to the terms summed, is round-off too.
NEGATIVE_TOLERANCE = 1e-6


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean [D] and covariance [D, D] of features [N, D], in float64."""
    values = _checked(features)
    # atleast_2d: np.cov gives a bare number for one feature.
    return values.mean(axis=0), np.atleast_2d(np.cov(values, rowvar=False))


def _checked(features: np.ndarray) -> np.ndarray:
    values = np.asarray(features, dtype=np.float64)
    if values.ndim != 2 or len(values) < 2:
        raise ValueError(
            f"Need features as [N, D] with N >= 2, got shape {values.shape}."
        )
    if not np.isfinite(values).all():
        raise ValueError("The features hold NaN or infinite values; check the images.")
    return values


@dataclass(frozen=True)
class SampleGaussian:
    """A feature set [N, D] as its mean [D] and centred rows over sqrt(N - 1) [N, D].

    The covariance is rows.T @ rows but is never formed: Inception's 2048 features
    from a few hundred images make a rank-deficient 2048 x 2048 product whose square
    root takes half a minute on two cores, while the same trace comes from the
    singular values of an N x M matrix in milliseconds, and exactly.
    """

    mean: np.ndarray
    rows: np.ndarray


def sample_gaussian(features: np.ndarray) -> SampleGaussian:
    """The mean and scaled centred rows of features [N, D], in float64."""
    values = _checked(features)
    mean = values.mean(axis=0)
    return SampleGaussian(mean, (values - mean) / np.sqrt(len(values) - 1))


def frechet_from_samples(a: SampleGaussian, b: SampleGaussian) -> float:
    """The Fréchet distance between two sample Gaussians; >= 0.

    Equal to `frechet_from_stats` on their covariances, without its eps fallback:
    the non-zero eigenvalues of S_a S_b = A^T A B^T B are those of (A B^T)(A B^T)^T,
    so Tr((S_a S_b)^(1/2)) is the sum of the singular values of A B^T.
    """
    if a.mean.shape != b.mean.shape:
        raise ValueError(
            f"Features of different widths: {a.mean.shape[0]} and {b.mean.shape[0]}."
        )
    diff = a.mean - b.mean
    cross = float(np.linalg.svd(a.rows @ b.rows.T, compute_uv=False).sum())
    mean_term = float(diff @ diff)
    trace_terms = float(np.sum(a.rows**2) + np.sum(b.rows**2))
    return _non_negative(mean_term + trace_terms - 2.0 * cross, mean_term + trace_terms)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to features a [N, D], b [M, D]."""
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def frechet_from_stats(
    mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray
) -> float:
    """The Fréchet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b); >= 0."""
    if mu_a.shape != mu_b.shape or sigma_a.shape != sigma_b.shape:
        raise ValueError(
            f"Statistics of different sizes: means {mu_a.shape} and {mu_b.shape}, "
            f"covariances {sigma_a.shape} and {sigma_b.shape}."
        )
    diff = mu_a - mu_b
    cross = _trace_sqrt_product(sigma_a, sigma_b)
    mean_term = float(diff @ diff)
    trace_terms = float(np.trace(sigma_a) + np.trace(sigma_b))
    return _non_negative(mean_term + trace_terms - 2.0 * cross, mean_term + trace_terms)


def _trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """Tr((sigma_a sigma_b)^(1/2)), with the eps * I fallback for singular products."""
    root, error = _sqrtm(sigma_a @ sigma_b)
    if error > SQRTM_TOLERANCE:
        logger.debug("singular covariance product; adding %g to the diagonals", EPS)
        offset = EPS * np.eye(len(sigma_a))
        root, error = _sqrtm((sigma_a + offset) @ (sigma_b + offset))
    if not np.isfinite(error):
        raise ValueError(
            "The covariance product has no finite square root even with "
            f"{EPS:g} added to the diagonals; the features are degenerate."
        )
    if error > SQRTM_TOLERANCE:
        logger.warning("covariance square root has relative error %.2g", error)
    return _real_trace(root)


def _sqrtm(product: np.ndarray) -> tuple[np.ndarray, float]:
    """The principal square root and its relative error; inf when not finite."""
    # Imported here: the per-epoch metric takes the SVD path above, and scipy
    # would add about 20 MB to every worker that never computes this.
    from scipy import linalg

    # Singular products are expected here and handled by the caller, which
    # measures the error itself instead of relying on scipy's warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = np.asarray(linalg.sqrtm(product))
    if not np.isfinite(root).all():
        return root, float("inf")
    scale = max(float(np.linalg.norm(product)), np.finfo(np.float64).tiny)
    return root, float(np.linalg.norm(root @ root - product)) / scale


def _real_trace(root: np.ndarray) -> float:
    """The trace's real part; a non-negligible imaginary part is an error."""
    trace = np.trace(root)
    if np.iscomplexobj(root):
        imaginary = float(np.max(np.abs(np.diagonal(root).imag)))
        if imaginary > IMAGINARY_TOLERANCE * max(1.0, abs(trace.real)):
            raise ValueError(
                f"The covariance product's square root has an imaginary part of "
                f"{imaginary:.3g}; the features are ill-conditioned, so use more "
                "samples than feature dimensions."
            )
    return float(trace.real)


def _non_negative(value: float, scale: float) -> float:
    """Clamp round-off below zero to zero; a real negative means a numerical bug."""
    if value >= 0.0:
        return value
    if value >= -NEGATIVE_TOLERANCE * max(1.0, scale):
        return 0.0
    raise ValueError(
        f"The Fréchet distance came out at {value:.3g}, below zero beyond "
        "round-off; the covariance square root is inaccurate."
    )
