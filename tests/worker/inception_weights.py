"""Random FID-Inception weights for tests, in the published file's key layout.

He-initialised convolutions keep the features near unit scale through all 94
layers, so distances between feature sets mean something; batch norm gets random
statistics and affine terms, so a port that ignored any of them would differ.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor, nn

from worker.quality.inception_net import FidInception


def random_inception_state(seed: int = 0) -> dict[str, Tensor]:
    """A state dict for FidInception with random, well-scaled weights."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        net = FidInception()
        for module in net.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None
                assert module.running_var is not None
                module.weight.uniform_(0.8, 1.2)
                module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.8, 1.2)
    return {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}


def write_safetensors(path: Path, state: dict[str, Tensor]) -> Path:
    """Save `state` at `path` as safetensors and return the path."""
    save_file(state, str(path))
    return path
