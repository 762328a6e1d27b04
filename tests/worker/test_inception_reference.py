"""Our FID Inception computes what pytorch-fid and torch-fidelity compute.

Both libraries import torchvision, which does not import beside the CPU build of
torch the project installs, so these tests skip there. They run in an environment
that has both, such as a venv with torch 2.14.1, torchvision 0.29.1,
pytorch-fid 0.3.0 and torch-fidelity 0.4.0. The same random weights go into every
net, handed over in memory: neither library downloads or unpickles anything here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
import pytest
import torch
from torch import Tensor

from tests.worker.inception_weights import random_inception_state
from worker.quality.frechet import frechet_from_samples, sample_gaussian
from worker.quality.inception_net import FidInception

TOLERANCE = 1e-5


def _import_or_skip(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    # Beside a torch it was not built for, torchvision raises RuntimeError.
    except Exception as exc:
        pytest.skip(
            f"{name} does not import here ({type(exc).__name__}: {exc}); run this "
            "where torchvision, pytorch-fid and torch-fidelity import",
            allow_module_level=True,
        )


pytorch_fid_inception = _import_or_skip("pytorch_fid.inception")
pytorch_fid_score = _import_or_skip("pytorch_fid.fid_score")
fidelity_inception = _import_or_skip("torch_fidelity.feature_extractor_inceptionv3")


@pytest.fixture(scope="module")
def state() -> dict[str, Tensor]:
    return random_inception_state(seed=7)


@pytest.fixture(scope="module")
def ours(state: dict[str, Tensor]) -> FidInception:
    net = FidInception()
    net.load_state_dict(state)
    return net.eval()


def _images(count: int, side: int) -> Tensor:
    return torch.rand(count, 3, side, side, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("side", [28, 64, 299])
def test_features_equal_pytorch_fid_at_any_input_size(
    state: dict[str, Tensor],
    ours: FidInception,
    monkeypatch: pytest.MonkeyPatch,
    side: int,
) -> None:
    # fid_inception_v3 fetches its weights by URL; it gets ours instead.
    monkeypatch.setattr(
        pytorch_fid_inception, "load_state_dict_from_url", lambda *a, **k: state
    )
    reference = pytorch_fid_inception.InceptionV3([3]).eval()
    images = _images(3, side)

    with torch.no_grad():
        expected = reference(images)[0].flatten(1)
        got = ours(images)

    assert got.shape == expected.shape == (3, 2048)
    torch.testing.assert_close(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_features_equal_torch_fidelity_on_299_pixel_images(
    state: dict[str, Tensor],
    ours: FidInception,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With no path it asks this function for the weights: no torch.load at all.
    monkeypatch.setattr(
        fidelity_inception, "load_state_dict_from_url", lambda *a, **k: state
    )
    extractor = fidelity_inception.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"]
    )
    pixels = (_images(2, 299) * 255).to(torch.uint8)

    with torch.no_grad():
        (expected,) = extractor(pixels)
        # torch-fidelity feeds (u - 128) / 128, which is 2x - 1 for x = u / 256,
        # and at 299 pixels neither side resizes.
        got = ours(pixels.float() / 256)

    torch.testing.assert_close(got, expected, rtol=TOLERANCE, atol=TOLERANCE)


def test_frechet_from_samples_equals_pytorch_fid_on_rank_deficient_features() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 256)), 1.3 * rng.normal(size=(50, 256)) + 0.1

    expected = pytorch_fid_score.calculate_frechet_distance(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    )
    got = frechet_from_samples(sample_gaussian(a), sample_gaussian(b))

    assert got == pytest.approx(float(expected), rel=1e-6)
