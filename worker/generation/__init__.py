"""Images drawn from a finished training job's model, by seed, as PNG files.

Modes: samples, an interpolation strip between two seeds, reconstructions of
dataset images (VAEs) and one row per class (conditional models).
"""

from worker.generation.job import GenerationResult, generate

__all__ = ["GenerationResult", "generate"]
