"""How a run uses a CUDA device: channels-last memory and bfloat16 autocast.

Kept in one place so the steps only ask "autocast here" and "lay this out" and
never test the device themselves. On the CPU every method is the identity, so
the CPU path is plain float32 in the default memory layout.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor, nn

from shared.spec import CONV_MODELS

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@dataclass(frozen=True)
class Accelerator:
    """A run's memory layout and autocast dtype, decided once from its device."""

    device_type: str = "cpu"
    is_channels_last: bool = False
    autocast_dtype: torch.dtype | None = None

    @classmethod
    def for_run(cls, device: torch.device, model_kind: str) -> Accelerator:
        """Channels-last for conv models on CUDA; bfloat16 where the GPU has it."""
        if device.type != "cuda":
            return cls()
        # Tensor cores read NHWC directly; NCHW costs a transpose per conv.
        is_channels_last = model_kind in CONV_MODELS
        # bfloat16 keeps float32's exponent range, so no loss scaling is needed.
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        return cls(device.type, is_channels_last, dtype)

    def prepare_model(self, model: ModuleT) -> ModuleT:
        """Lay the model's conv weights out channels-last, when asked to."""
        if not self.is_channels_last:
            return model
        layout = torch.channels_last
        # Module.to takes memory_format at run time; torch's type stubs omit it.
        return model.to(memory_format=layout)  # type: ignore[call-overload]

    def prepare_batch(self, images: Tensor) -> Tensor:
        """Lay images [B, C, H, W] out channels-last, when asked to."""
        if not self.is_channels_last:
            return images
        return images.contiguous(memory_format=torch.channels_last)

    def autocast(self) -> AbstractContextManager[object]:
        """A context that runs forward passes in bfloat16, or does nothing."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.autocast_dtype)


# The float32, default-layout path every CPU run takes.
PLAIN = Accelerator()
