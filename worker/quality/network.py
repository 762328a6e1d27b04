"""The small CNN whose embedding serves as the feature space for the quality metric."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# 64 numbers per image: small enough that ~500 samples estimate a stable
# covariance (2,080 free entries), large enough to tell digits and strokes apart.
FEATURE_DIM = 64
# Larger images are averaged down to this side first, which keeps training the
# classifier to seconds on a CPU; quality at 64 px shows at 32 px as well.
MAX_SIDE = 32
POOLED = 4


class FeatureNet(nn.Module):
    """Three conv layers (16, 32, 64 maps), pooled to 4x4 and projected to 64 features.

    The features are the projection before its ReLU, a full-rank linear map of the
    pooled maps, so no dead unit leaves the covariance singular. A linear head on
    top classifies; it is used only while training.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1),  # [B, 16, H, W]
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),  # [B, 32, H/2, W/2]
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # [B, 64, H/4, W/4]
            nn.ReLU(),
            # Any side from 8 (2x2 maps, repeated) to MAX_SIDE (8x8, averaged).
            nn.AdaptiveAvgPool2d(POOLED),  # [B, 64, 4, 4]
            nn.Flatten(),  # [B, 1024]
            nn.Linear(64 * POOLED * POOLED, FEATURE_DIM),  # [B, 64]
        )
        self.head = nn.Linear(FEATURE_DIM, max(num_classes, 1))  # [B, K] logits
        self.apply(_init_layer)

    def embed(self, images: Tensor) -> Tensor:
        """Features [B, FEATURE_DIM] for images [B, C, H, W] in [0, 1]."""
        height, width = images.shape[-2:]
        if max(height, width) > MAX_SIDE:
            side = (min(height, MAX_SIDE), min(width, MAX_SIDE))
            images = F.adaptive_avg_pool2d(images, side)
        # Pixels go in uncentred: centred, a flat grey image becomes zero input,
        # which lands near the middle of the real features, and in trials grey
        # noise then scored better than a half-trained VAE's blurry digits.
        return self.body(images)

    def forward(self, images: Tensor) -> Tensor:
        """Class logits [B, K] for images [B, C, H, W] in [0, 1]."""
        return self.head(F.relu(self.embed(images)))


def _init_layer(module: nn.Module) -> None:
    # He et al. (2015) initialisation keeps the activations' scale from layer to
    # layer, so an untrained net's features neither vanish nor blow up.
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def build_net(channels: int, num_classes: int, seed: int) -> FeatureNet:
    """A freshly initialised net, seeded without touching the global generator."""
    # The training loop seeds the global generator for its own model; forking it
    # here leaves that stream as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return FeatureNet(channels, num_classes)
