"""Inception-v3 as the FID reference uses it, laid out to take its published weights.

Szegedy et al. (2016), "Rethinking the Inception Architecture for Computer Vision",
in the variant of TensorFlow's 2015-12-05 graph that Heusel et al. (2017) measured
FID on. That graph differs from the paper's net in two places, both kept here: its
average pools leave the zero padding out of the mean, and the last block pools by
maximum. Module names follow the state dict of pytorch-fid's converted weights
(pt_inception-2015-12-05-6726825d.pth), so that file loads key for key; nothing
here downloads it.

Only the 2048 pooled features are computed. The 1008-way `fc` layer is kept so the
weights file loads whole, but the features never pass through it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

FEATURE_DIM = 2048
INPUT_SIDE = 299
# The graph's 1,000 ImageNet classes padded to 1,008 outputs.
LOGITS = 1008
# TensorFlow's batch norm epsilon, which the weights were fitted with.
BN_EPS = 1e-3

Size = int | tuple[int, int]


class ConvUnit(nn.Module):
    """Convolution without bias, batch norm, ReLU: every layer of the graph."""

    def __init__(
        self,
        inputs: int,
        outputs: int,
        kernel: Size,
        stride: int = 1,
        padding: Size = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(outputs, eps=BN_EPS)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _mean_pool(x: Tensor) -> Tensor:
    # TensorFlow averages over the pixels inside the image only.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def _chain(units: Iterable[nn.Module], x: Tensor) -> Tensor:
    for unit in units:
        x = unit(x)
    return x


class BlockA(nn.Module):
    """35x35 block: 1x1, 5x5, two 3x3, and a pooled 1x1 branch side by side."""

    def __init__(self, inputs: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = ConvUnit(inputs, 64, 1)
        self.branch5x5_1 = ConvUnit(inputs, 48, 1)
        self.branch5x5_2 = ConvUnit(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvUnit(inputs, 64, 1)
        self.branch3x3dbl_2 = ConvUnit(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvUnit(96, 96, 3, padding=1)
        self.branch_pool = ConvUnit(inputs, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        wide = _chain([self.branch5x5_1, self.branch5x5_2], x)
        deep = _chain(
            [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3], x
        )
        pooled = self.branch_pool(_mean_pool(x))
        return torch.cat([self.branch1x1(x), wide, deep, pooled], 1)


class BlockB(nn.Module):
    """35x35 to 17x17: strided 3x3 branches beside a max pool."""

    def __init__(self, inputs: int) -> None:
        super().__init__()
        self.branch3x3 = ConvUnit(inputs, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvUnit(inputs, 64, 1)
        self.branch3x3dbl_2 = ConvUnit(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvUnit(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        deep = _chain(
            [self.branch3x3dbl_1, self.branch3x3dbl_2, self.branch3x3dbl_3], x
        )
        pooled = F.max_pool2d(x, 3, stride=2)
        return torch.cat([self.branch3x3(x), deep, pooled], 1)


class BlockC(nn.Module):
    """17x17 block: 7x7 convolutions factored into 1x7 and 7x1 pairs."""

    def __init__(self, inputs: int, mid: int) -> None:
        super().__init__()
        row, row_pad = (1, 7), (0, 3)
        column, column_pad = (7, 1), (3, 0)
        self.branch1x1 = ConvUnit(inputs, 192, 1)
        self.branch7x7_1 = ConvUnit(inputs, mid, 1)
        self.branch7x7_2 = ConvUnit(mid, mid, row, padding=row_pad)
        self.branch7x7_3 = ConvUnit(mid, 192, column, padding=column_pad)
        self.branch7x7dbl_1 = ConvUnit(inputs, mid, 1)
        self.branch7x7dbl_2 = ConvUnit(mid, mid, column, padding=column_pad)
        self.branch7x7dbl_3 = ConvUnit(mid, mid, row, padding=row_pad)
        self.branch7x7dbl_4 = ConvUnit(mid, mid, column, padding=column_pad)
        self.branch7x7dbl_5 = ConvUnit(mid, 192, row, padding=row_pad)
        self.branch_pool = ConvUnit(inputs, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        single = _chain([self.branch7x7_1, self.branch7x7_2, self.branch7x7_3], x)
        double = _chain(
            [
                self.branch7x7dbl_1,
                self.branch7x7dbl_2,
                self.branch7x7dbl_3,
                self.branch7x7dbl_4,
                self.branch7x7dbl_5,
            ],
            x,
        )
        pooled = self.branch_pool(_mean_pool(x))
        return torch.cat([self.branch1x1(x), single, double, pooled], 1)


class BlockD(nn.Module):
    """17x17 to 8x8: strided branches beside a max pool."""

    def __init__(self, inputs: int) -> None:
        super().__init__()
        self.branch3x3_1 = ConvUnit(inputs, 192, 1)
        self.branch3x3_2 = ConvUnit(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvUnit(inputs, 192, 1)
        self.branch7x7x3_2 = ConvUnit(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvUnit(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvUnit(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        short = _chain([self.branch3x3_1, self.branch3x3_2], x)
        long = _chain(
            [
                self.branch7x7x3_1,
                self.branch7x7x3_2,
                self.branch7x7x3_3,
                self.branch7x7x3_4,
            ],
            x,
        )
        return torch.cat([short, long, F.max_pool2d(x, 3, stride=2)], 1)


class BlockE(nn.Module):
    """8x8 block whose 3x3 branches split into 1x3 and 3x1 halves side by side.

    `is_max_pool` marks the graph's last block, which pools by maximum.
    """

    def __init__(self, inputs: int, *, is_max_pool: bool) -> None:
        super().__init__()
        self.is_max_pool = is_max_pool
        self.branch1x1 = ConvUnit(inputs, 320, 1)
        self.branch3x3_1 = ConvUnit(inputs, 384, 1)
        self.branch3x3_2a = ConvUnit(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvUnit(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvUnit(inputs, 448, 1)
        self.branch3x3dbl_2 = ConvUnit(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvUnit(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvUnit(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvUnit(inputs, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        short = self.branch3x3_1(x)
        deep = _chain([self.branch3x3dbl_1, self.branch3x3dbl_2], x)
        if self.is_max_pool:
            pooled = F.max_pool2d(x, 3, stride=1, padding=1)
        else:
            pooled = _mean_pool(x)
        parts = [
            self.branch1x1(x),
            self.branch3x3_2a(short),
            self.branch3x3_2b(short),
            self.branch3x3dbl_3a(deep),
            self.branch3x3dbl_3b(deep),
            self.branch_pool(pooled),
        ]
        return torch.cat(parts, 1)


class FidInception(nn.Module):
    """The FID Inception-v3 up to its 2048 pooled features, in eval mode only."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = ConvUnit(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvUnit(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvUnit(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvUnit(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvUnit(80, 192, 3)
        self.Mixed_5b = BlockA(192, 32)
        self.Mixed_5c = BlockA(256, 64)
        self.Mixed_5d = BlockA(288, 64)
        self.Mixed_6a = BlockB(288)
        self.Mixed_6b = BlockC(768, 128)
        self.Mixed_6c = BlockC(768, 160)
        self.Mixed_6d = BlockC(768, 160)
        self.Mixed_6e = BlockC(768, 192)
        self.Mixed_7a = BlockD(768)
        self.Mixed_7b = BlockE(1280, is_max_pool=False)
        self.Mixed_7c = BlockE(2048, is_max_pool=True)
        self.fc = nn.Linear(FEATURE_DIM, LOGITS)
        self.requires_grad_(False)
        self.eval()

    def forward(self, images: Tensor) -> Tensor:
        """Features [B, 2048] for RGB images [B, 3, H, W] in [0, 1], any size."""
        # The reference resizes with half-pixel centres and feeds [-1, 1].
        x = F.interpolate(
            images, size=(INPUT_SIDE, INPUT_SIDE), mode="bilinear", align_corners=False
        )
        x = 2 * x - 1  # [B, 3, 299, 299]
        x = _chain([self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3], x)
        x = F.max_pool2d(x, 3, stride=2)  # [B, 64, 73, 73]
        x = _chain([self.Conv2d_3b_1x1, self.Conv2d_4a_3x3], x)
        x = F.max_pool2d(x, 3, stride=2)  # [B, 192, 35, 35]
        # [B, 288, 35, 35] after the three 35x35 blocks
        x = _chain([self.Mixed_5b, self.Mixed_5c, self.Mixed_5d], x)
        x = self.Mixed_6a(x)  # [B, 768, 17, 17]
        x = _chain([self.Mixed_6b, self.Mixed_6c, self.Mixed_6d, self.Mixed_6e], x)
        x = self.Mixed_7a(x)  # [B, 1280, 8, 8]
        x = self.Mixed_7c(self.Mixed_7b(x))  # [B, 2048, 8, 8]
        return F.adaptive_avg_pool2d(x, 1).flatten(1)  # [B, 2048]
