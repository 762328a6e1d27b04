"""A curve's envelope draws like all its points, and is built a block at a time."""

from __future__ import annotations

import numpy as np

from gui.detail.series import Series


def filled(values: np.ndarray, chunk: int) -> Series:
    series = Series()
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        series.extend(list(range(start + 1, start + 1 + len(part))), part.tolist())
    return series


def test_a_series_of_at_most_two_points_a_column_is_drawn_whole() -> None:
    series = filled(np.linspace(0, 1, 900), 300)

    drawn = series.envelope(500)

    assert drawn.steps.tolist() == list(range(1, 901))
    assert np.array_equal(drawn.values, np.linspace(0, 1, 900))
    assert len(drawn.tail_steps) == 0


def test_the_envelope_keeps_every_block_s_lowest_and_highest_value() -> None:
    values = np.random.default_rng(3).normal(size=100_000)
    values[[17, 50_001, 99_998]] = (40.0, -40.0, 35.0)
    series = filled(values, 100_000)

    drawn = series.envelope(500)

    size = 128  # the smallest power of two with 100,000 / size <= 2 * 500
    full = len(values) // size * size
    assert drawn.blocks == (size, full // size)
    assert len(drawn.values) == 2 * (full // size)
    assert np.array_equal(drawn.values[:2], [values[:size].min(), values[:size].max()])
    assert (drawn.values.min(), drawn.values.max()) == (-40.0, 40.0)
    assert drawn.steps[:2].tolist() == [1, size]
    # The tail joins the last block and holds every point after it.
    assert drawn.tail_steps[0] == drawn.steps[-1]
    assert drawn.tail_steps[1:].tolist() == list(range(full + 1, 100_001))
    assert drawn.tail_values[-2] == 35.0


def test_an_envelope_built_as_points_arrive_equals_one_built_at_once() -> None:
    values = np.random.default_rng(5).normal(size=30_000)
    growing = Series()
    for start in range(0, 30_000, 700):
        part = values[start : start + 700]
        steps = list(range(start + 1, start + 1 + len(part)))
        growing.extend(steps, part.tolist())
        growing.envelope(400)

    at_once = filled(values, 30_000)

    for is_smoothed in (False, True):
        ours = growing.envelope(400, is_smoothed=is_smoothed)
        theirs = at_once.envelope(400, is_smoothed=is_smoothed)
        assert ours.blocks == theirs.blocks
        for mine, other in zip(ours[:4], theirs[:4], strict=True):
            assert np.allclose(mine, other)


def test_smoothed_and_raw_envelopes_are_kept_apart() -> None:
    values = np.where(np.arange(20_000) % 2, 10.0, -10.0)
    series = filled(values, 1000)

    raw = series.envelope(100).values
    smoothed = series.envelope(100, is_smoothed=True).values

    assert (raw.min(), raw.max()) == (-10.0, 10.0)
    # The average starts at the first value and settles near zero.
    assert smoothed[0] == -10.0 and np.abs(smoothed[2:]).max() < 1.0
