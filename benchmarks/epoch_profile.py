"""Profile the end of a training epoch, in this process, with pyinstrument.

    .venv/bin/python -m benchmarks.epoch_profile [EPOCHS]

The training rows' stopwatch says how long genqueue's epoch ends take, but not on
what. This trains the MLP VAE of the training row (MNIST's test images, or the
digits without them; batch 128) for EPOCHS epochs with callbacks that do nothing,
profiles only the trainer's epoch ends (sample grids, checkpoint, model), and
prints each one's time and the profile. Needs the bench extra.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from pyinstrument import Profiler

from benchmarks.inputs import mnist
from shared.spec import TrainSpec
from worker.datasets import load_images
from worker.training import RunInfo, loop, train


class Silent:
    """Training callbacks that report nothing anywhere."""

    def on_start(self, info: RunInfo) -> None:
        pass

    def on_step(self, epoch: int, step: int, losses: dict[str, float]) -> None:
        pass

    def on_epoch_end(
        self, epoch: int, means: dict[str, float], images: dict[str, bytes]
    ) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def main(argv: list[str]) -> None:
    epochs = int(argv[0]) if argv else 8
    source = mnist()
    spec = TrainSpec.from_json(
        {"model": "vae", "dataset": source.reference, "epochs": epochs}
        | {"batch_size": 128}
    )
    data = load_images(spec)
    profiler = Profiler(interval=0.0005)
    seconds: list[float] = []
    finish_epoch = loop._Trainer._finish_epoch

    def profiled(trainer: Any, *args: Any) -> None:
        started = time.perf_counter()
        profiler.start()
        try:
            finish_epoch(trainer, *args)
        finally:
            profiler.stop()
            seconds.append(time.perf_counter() - started)

    loop._Trainer._finish_epoch = profiled  # type: ignore[method-assign,assignment]
    with tempfile.TemporaryDirectory(prefix="genqueue-epochs-") as folder:
        train(spec, data, torch.device("cpu"), Silent(), Path(folder))
    print(
        f"{source.description}: epoch ends in ms:",
        [round(s * 1000, 1) for s in seconds],
    )
    print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main(sys.argv[1:])
