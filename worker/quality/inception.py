"""Inception features for FID, from a weights file a person has put in place.

FID proper (Heusel et al. 2017) is the Fréchet distance on the 2048 pooled features
of TensorFlow's 2015-12-05 Inception-v3. The well-kept ports, pytorch-fid and
torch-fidelity, both import torchvision when imported, and PyPI's torchvision does
not import beside the CPU build of torch this project installs ("operator
torchvision::nms does not exist"); torch-fidelity also unpickles its weights with
torch.load(weights_only=False). So the net is written out here (inception_net.py)
in pytorch-fid's layout, and tests/worker/test_inception_reference.py shows its
features equal both libraries' to 1e-5 wherever they import.

Nothing is downloaded: the weights are looked for in GENQUEUE_INCEPTION_WEIGHTS, then
under WEIGHTS_NAMES in the dataset cache (GENQUEUE_DATA_CACHE); the value "off"
keeps the classifier metric wherever the weights lie. They are read as plain
tensors only, with safetensors or torch.load(weights_only=True), and every tensor's
name and shape is checked before any is used.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from shared.downloads import cache_root
from worker.quality.inception_net import FidInception

logger = logging.getLogger(__name__)

METRIC_NAME = "fid_inception"
WEIGHTS_ENV = "GENQUEUE_INCEPTION_WEIGHTS"
# The value of WEIGHTS_ENV that turns FID off, for CPU workers that cannot spare it.
OFF = "off"
# pytorch-fid's published file, or the same tensors saved as safetensors.
WEIGHTS_STEM = "pt_inception-2015-12-05-6726825d"
WEIGHTS_NAMES = (f"{WEIGHTS_STEM}.safetensors", f"{WEIGHTS_STEM}.pth")
LABEL = "Fréchet Inception distance (Inception-v3 2015-12-05, lower is better)"
# 50 images at 299x299 keep the activations near 1 GB, a CPU's worth.
FEATURE_BATCH = 50
# Batch norm's step counters are bookkeeping: present in some files, not others.
_COUNTERS = "num_batches_tracked"
_SHOWN = 3
_UNREADABLE = (
    OSError,
    EOFError,
    RuntimeError,
    ValueError,
    SafetensorError,
    pickle.UnpicklingError,
)


class InceptionWeightsError(ValueError):
    """A weights file that cannot be read, or is not the FID Inception's."""


def find_weights(
    environ: Mapping[str, str] | None = None, cache: Path | None = None
) -> Path | None:
    """The configured weights file, else one in the dataset cache, else None.

    A configured path is returned whether or not it exists, so that reading it
    says what is wrong with it; "off" gives None.
    """
    env = os.environ if environ is None else environ
    configured = env.get(WEIGHTS_ENV, "").strip()
    if configured.lower() == OFF:
        return None
    if configured:
        return Path(configured).expanduser()
    folder = cache_root() if cache is None else cache
    found = [folder / name for name in WEIGHTS_NAMES if (folder / name).is_file()]
    return found[0] if found else None


def read_weights(path: Path) -> dict[str, Tensor]:
    """The file's tensors by name, read without unpickling anything but tensors."""
    if not path.is_file():
        raise InceptionWeightsError(
            f"Inception weights file {path} does not exist; put {WEIGHTS_NAMES[1]} "
            f"there or unset {WEIGHTS_ENV}."
        )
    try:
        if path.suffix == ".safetensors":
            tensors: object = load_file(path)
        else:
            tensors = torch.load(path, map_location="cpu", weights_only=True)
    except _UNREADABLE as exc:
        raise InceptionWeightsError(
            f"Cannot read Inception weights {path} as plain tensors ({exc}); give "
            f"{WEIGHTS_NAMES[1]} or a .safetensors file of its tensors."
        ) from None
    if not isinstance(tensors, dict) or not all(
        isinstance(v, Tensor) for v in tensors.values()
    ):
        raise InceptionWeightsError(
            f"Inception weights {path} hold {type(tensors).__name__}, not a state "
            f"dict of tensors; give {WEIGHTS_NAMES[1]}."
        )
    return tensors


def load_inception(path: Path) -> FidInception:
    """The FID Inception with the file's weights, in eval mode on the CPU."""
    net = FidInception()
    expected = {
        name: tensor.shape
        for name, tensor in net.state_dict().items()
        if not name.endswith(_COUNTERS)
    }
    given = {
        name: tensor
        for name, tensor in read_weights(path).items()
        if not name.endswith(_COUNTERS)
    }
    problems = _layout_problems(expected, given)
    if problems:
        raise InceptionWeightsError(
            f"{path} is not the FID Inception-v3 weights: {'; '.join(problems)}. "
            f"Give pytorch-fid's {WEIGHTS_NAMES[1]}, or unset {WEIGHTS_ENV} to "
            "use the classifier metric."
        )
    # strict=False only for the step counters, which the check above leaves out.
    net.load_state_dict(given, strict=False)
    return net.eval()


def _layout_problems(
    expected: Mapping[str, torch.Size], given: Mapping[str, Tensor]
) -> list[str]:
    """Missing, unexpected and mis-shaped tensors, a few names of each."""
    missing = sorted(set(expected) - set(given))
    extra = sorted(set(given) - set(expected))
    wrong = [
        f"{name} is {list(given[name].shape)}, not {list(expected[name])}"
        for name in expected
        if name in given and given[name].shape != expected[name]
    ]
    problems = []
    for count, what, names in (
        (len(missing), "missing", missing),
        (len(extra), "unexpected", extra),
    ):
        if count:
            problems.append(f"{count} tensors {what} ({_some(names)})")
    if wrong:
        problems.append(f"{len(wrong)} of the wrong shape ({_some(wrong)})")
    return problems


def _some(names: list[str]) -> str:
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


class InceptionExtractor:
    """The FID Inception's 2048 features, on the run's device.

    Grey images are repeated into three channels, as the reference tools do when
    they convert to RGB. On two CPU cores a 299x299 pass takes about half a second
    to a second an image; on a GPU, milliseconds.
    """

    name = METRIC_NAME
    kind = "inception"
    label = LABEL

    def __init__(
        self, net: FidInception, weights: Path, device: torch.device | None = None
    ) -> None:
        self.device = device or torch.device("cpu")
        self.net = net.to(self.device).eval()
        self.weights = weights

    @classmethod
    def from_file(
        cls, path: Path, device: torch.device | None = None
    ) -> InceptionExtractor:
        """Load and check the weights at `path`; raise InceptionWeightsError."""
        extractor = cls(load_inception(path), path, device)
        logger.info("Inception weights for the quality metric read from %s", path)
        return extractor

    @torch.inference_mode()
    def features(self, images: Tensor) -> Tensor:
        """Features [N, 2048] on the CPU for images [N, C, H, W] in [0, 1]."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(
                f"Inception features need images [N, 1 or 3, H, W], got "
                f"{list(images.shape)}."
            )
        parts = []
        for batch in images.split(FEATURE_BATCH):
            batch = batch.to(self.device, torch.float32)
            if batch.shape[1] == 1:
                batch = batch.expand(-1, 3, -1, -1)
            parts.append(self.net(batch).float().cpu())
        return torch.cat(parts)
