"""Losses from the device to Python floats, refused when NaN or infinite.

Each step fetches its losses in one device sync and checks them before the
optimizer moves, so a diverged run never writes NaN weights over its last good
ones.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class NonFiniteLoss(ArithmeticError):
    """A loss came out NaN or infinite; the loop turns this into TrainingDiverged."""

    def __init__(self, name: str, value: float) -> None:
        super().__init__(f"{name} is {value}")
        self.name = name
        self.value = value


def fetch_finite(values: dict[str, Tensor]) -> dict[str, float]:
    """Copy scalar tensors to floats in one sync; raise NonFiniteLoss on NaN/inf."""
    # float(): under autocast some of them are bfloat16, and stack wants one dtype.
    floats = torch.stack([v.detach().float() for v in values.values()]).tolist()
    fetched = dict(zip(values, floats, strict=True))
    for name, value in fetched.items():
        if not math.isfinite(value):
            raise NonFiniteLoss(name, value)
    return fetched
