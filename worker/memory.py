"""A training job that runs out of memory fails with advice, and leaves none held.

On a GPU torch raises ``torch.OutOfMemoryError``. On the host an allocation the
system refuses comes back from torch as a RuntimeError ("DefaultCPUAllocator: can't
allocate memory: ...") and from NumPy or Python as MemoryError. Any of them ends the
job as failed with its batch size and a smaller one to try, and only after the run's
tensors are unreachable are they collected and CUDA's cache emptied, so that the
worker's next job starts with the memory this one had.

Generation jobs are not guarded: they draw at most 1,024 images.
"""

from __future__ import annotations

import functools
import gc
import logging
import re
import textwrap
from collections.abc import Callable
from typing import Any

import torch

from shared.errors import JobFailed
from shared.settings import Settings
from worker.reporter import Reporter

logger = logging.getLogger(__name__)

Work = Callable[[str, Any, Settings, Reporter, str], str]

# How the host allocators word a refusal; CUDA's own errors are OutOfMemoryError,
# except the ones cuBLAS reports for its workspace.
_MARKERS = ("can't allocate memory", "cannot allocate memory", "out of memory")
_CUDA_MARKERS = ("CUBLAS_STATUS_ALLOC_FAILED",)
_DETAIL_CHARS = 160
_HOST_REQUEST = re.compile(r"allocate (\d+) bytes")
_CUDA_REQUEST = re.compile(r"[Tt]ried to allocate ([\d.]+ [KMGT]?i?B)")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation was refused, on the GPU or the host."""
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        any(marker in text.lower() for marker in _MARKERS)
        or any(marker in text for marker in _CUDA_MARKERS)
    )


def out_of_memory_message(spec: dict[str, Any], exc: BaseException) -> str:
    """What ran out, at which batch size, and what to submit instead."""
    text = str(exc) or type(exc).__name__
    on_gpu = isinstance(exc, torch.OutOfMemoryError) or "CUBLAS" in text
    where = "GPU" if on_gpu or "CUDA" in text else "host"
    detail = _refused_request(text)
    batch = int(spec.get("batch_size") or 0)
    size = f" at {spec['image_size']} px" if spec.get("image_size") else ""
    if batch > 1:
        advice = (
            f"Submit it again with --batch-size {batch // 2} or smaller; a smaller "
            "--image-size or --max-images also needs less."
        )
    else:
        advice = (
            "Even one image at a time does not fit: submit it again with a smaller "
            "--image-size, or run it on a worker with more memory."
        )
    return f"Out of {where} memory with batch size {batch}{size} ({detail}). {advice}"


def _refused_request(text: str) -> str:
    """The allocation that was refused, as people read sizes, or the first line."""
    if match := _CUDA_REQUEST.search(text):
        return f"could not allocate {match[1]}"
    if match := _HOST_REQUEST.search(text):
        size = int(match[1])
        shown = (
            f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"
        )
        return f"could not allocate {shown}"
    return textwrap.shorten(text.splitlines()[0], _DETAIL_CHARS, placeholder="...")


def release_memory() -> None:
    """Collect unreachable tensors, then hand CUDA's cached blocks back."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def fails_when_out_of_memory(work: Work) -> Work:
    """Wrap a training job so that running out of memory fails it as described."""

    @functools.wraps(work)
    def guarded(
        job_id: str, raw_spec: Any, settings: Settings, reporter: Reporter, worker: str
    ) -> str:
        try:
            return work(job_id, raw_spec, settings, reporter, worker)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            message = out_of_memory_message(dict(raw_spec), exc)
        logger.warning("job %s: %s", job_id, message)
        # Out here the traceback, and the run's tensors it kept alive, are gone.
        release_memory()
        raise JobFailed(message)

    return guarded
