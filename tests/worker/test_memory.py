"""Out-of-memory errors, refused for real by the allocators, become advice."""

from __future__ import annotations

import weakref
from typing import Any

import pytest
import torch

from shared.errors import JobFailed
from worker.memory import (
    fails_when_out_of_memory,
    is_out_of_memory,
    out_of_memory_message,
)

# More than any process can map (user space is 2**47 bytes), so always refused.
IMPOSSIBLE = 2**62


def refused_by_torch() -> RuntimeError:
    with pytest.raises(RuntimeError) as caught:
        torch.empty(IMPOSSIBLE, dtype=torch.uint8)
    return caught.value


def test_a_tensor_the_host_cannot_hold_is_out_of_memory() -> None:
    assert is_out_of_memory(refused_by_torch())


def test_a_python_memory_error_is_out_of_memory() -> None:
    with pytest.raises(MemoryError) as caught:
        bytearray(IMPOSSIBLE)

    assert is_out_of_memory(caught.value)


def test_other_runtime_errors_are_not_out_of_memory() -> None:
    with pytest.raises(RuntimeError) as caught:
        torch.ones(2, 3) @ torch.ones(2, 3)

    assert not is_out_of_memory(caught.value)


def test_the_message_names_the_batch_and_suggests_half() -> None:
    message = out_of_memory_message(
        {"batch_size": 512, "image_size": 64}, refused_by_torch()
    )

    assert message.startswith("Out of host memory with batch size 512 at 64 px")
    assert "could not allocate 4294967296.0 GiB" in message
    assert "--batch-size 256 or smaller" in message


def test_at_batch_size_one_the_message_suggests_smaller_images() -> None:
    message = out_of_memory_message({"batch_size": 1}, refused_by_torch())

    assert "batch size 1 (" in message and "--batch-size" not in message
    assert "--image-size" in message


def test_a_guarded_job_fails_with_advice_after_its_tensors_are_freed() -> None:
    held: list[weakref.ref[torch.Tensor]] = []

    @fails_when_out_of_memory
    def work(*_: Any) -> str:
        images = torch.ones(1024, 1024)
        held.append(weakref.ref(images))
        torch.empty(IMPOSSIBLE, dtype=torch.uint8)
        return "succeeded"

    with pytest.raises(JobFailed) as caught:
        work("job", {"batch_size": 64}, None, None, "worker")

    assert "batch size 64" in str(caught.value)
    assert caught.value.__context__ is None  # no traceback keeps the run alive
    assert held[0]() is None


def test_a_guarded_job_lets_other_errors_through() -> None:
    @fails_when_out_of_memory
    def work(*_: Any) -> str:
        raise ValueError("not memory")

    with pytest.raises(ValueError, match="not memory"):
        work("job", {"batch_size": 64}, None, None, "worker")
