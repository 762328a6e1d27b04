"""One curve's points as the loss chart keeps them, and their envelope for drawing.

A long run has hundreds of thousands of steps, and a plot a few hundred pixels
wide. Reducing every point to what a pixel can show on each redraw costs time in
proportion to the whole run; the envelope here reduces each block of points once,
when it fills, so a redraw costs only the points that arrived since the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

# Weight of the newest point in the moving average: about a twenty-step memory,
# enough to show the trend through minibatch noise without lagging far behind.
SMOOTHING = 0.05


NONE = np.empty(0)


class Envelope(NamedTuple):
    """A series reduced for drawing: full blocks, then the newest points as a tail.

    The blocks change only when one fills, so a plot ranged on them moves in
    steps of a block; the tail grows with every point.
    """

    steps: np.ndarray
    values: np.ndarray
    tail_steps: np.ndarray
    tail_values: np.ndarray
    # The block size and how many blocks are full: the blocks' points are the
    # same as long as this is.
    blocks: tuple[int, int]


@dataclass
class _Blocks:
    """The lowest and highest value of each full block of ``size`` points so far."""

    size: int
    # Each block's first and last step, then its lowest and highest value.
    steps: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    values: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))

    @property
    def points(self) -> int:
        """How many of the series' points the full blocks cover."""
        return len(self.steps) * self.size

    def extend(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Reduce the blocks that filled since the last call."""
        start, end = self.points, len(values) // self.size * self.size
        if end <= start:
            return
        firsts = steps[start : end : self.size]
        lasts = steps[start + self.size - 1 : end : self.size]
        chunk = values[start:end].reshape(-1, self.size)
        lows_highs = np.column_stack((chunk.min(axis=1), chunk.max(axis=1)))
        self.steps = np.concatenate((self.steps, np.column_stack((firsts, lasts))))
        self.values = np.concatenate((self.values, lows_highs))


class Series:
    """One loss's points in arrays that double when full, with a running average."""

    def __init__(self, capacity: int = 1024) -> None:
        self._steps = np.empty(capacity)
        self._raw = np.empty(capacity)
        self._smooth = np.empty(capacity)
        self._size = 0
        self._average: float | None = None
        self._blocks: dict[bool, _Blocks] = {}

    def __len__(self) -> int:
        return self._size

    def extend(self, steps: list[float], values: list[float]) -> None:
        """Append points; steps and values pair up by position."""
        end = self._size + len(steps)
        if end > len(self._steps):
            self._grow(end)
        self._steps[self._size : end] = steps
        self._raw[self._size : end] = values
        self._smooth[self._size : end] = self._averaged(values)
        self._size = end

    def steps(self) -> np.ndarray:
        return self._steps[: self._size]

    def values(self, *, is_smoothed: bool = False) -> np.ndarray:
        return (self._smooth if is_smoothed else self._raw)[: self._size]

    def envelope(self, columns: int, *, is_smoothed: bool = False) -> Envelope:
        """Points that draw like every point across ``columns`` pixels.

        The points go in blocks of a power of two, no more than two blocks a
        column (with one, a block could span two pixels and the line would draw
        as a comb); each full block becomes its lowest value at its first step
        and its highest at its last, so no spike is lost. The points after the last full
        block are the tail, kept as they are. A series that fits is drawn whole.
        """
        steps, values = self.steps(), self.values(is_smoothed=is_smoothed)
        size = _block_size(self._size, 2 * max(columns, 1))
        if size == 1:
            return Envelope(steps, values, NONE, NONE, (1, self._size))
        blocks = self._blocks.get(is_smoothed)
        if blocks is None or blocks.size != size:
            blocks = self._blocks[is_smoothed] = _Blocks(size)
        blocks.extend(steps, values)
        xs, ys = blocks.steps.ravel(), blocks.values.ravel()
        # The tail starts where the blocks end, so the two draw as one line.
        done = blocks.points
        tail_steps = np.concatenate((xs[-1:], steps[done:]))
        tail_values = np.concatenate((ys[-1:], values[done:]))
        shape = (size, len(blocks.steps))
        return Envelope(xs, ys, tail_steps, tail_values, shape)

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * len(self._steps))
        for name in ("_steps", "_raw", "_smooth"):
            bigger = np.empty(capacity)
            bigger[: self._size] = getattr(self, name)[: self._size]
            setattr(self, name, bigger)

    def _averaged(self, values: list[float]) -> list[float]:
        average = values[0] if self._average is None else self._average
        out = []
        for value in values:
            average += SMOOTHING * (value - average)
            out.append(average)
        self._average = average
        return out


def _block_size(points: int, columns: int) -> int:
    """The smallest power of two that cuts ``points`` into at most ``columns``."""
    size = 1
    while points > size * columns:
        size *= 2
    return size
