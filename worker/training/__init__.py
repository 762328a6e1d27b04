"""Training that knows nothing of the queue: a loop, its steps and its callbacks."""

from worker.training.loop import (
    RunInfo,
    TrainingCallbacks,
    TrainingDiverged,
    TrainResult,
    train,
)

__all__ = ["RunInfo", "TrainResult", "TrainingCallbacks", "TrainingDiverged", "train"]
