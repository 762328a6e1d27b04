"""The loss chart holding 100,000 steps while new ones arrive ten times a second.

genqueue's side is the detail view's LossCharts (gui/detail/charts.py) with a VAE's
three losses; the baseline is a pyqtgraph PlotWidget of the same size with three
curves set to the same arrays. Each frame appends ten steps and lets the chart redraw
and paint as it does on its own (LossCharts on its 50 ms timer).

A frame's cost is the UI thread's CPU time from the append to the end of the
paint, so the wait for the redraw timer, and other processes on a busy machine,
do not count.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize

from benchmarks.qt import application, show, spin_for, spin_until
from benchmarks.report import Row, under
from gui.detail.charts import LossCharts
from shared.history import MetricPoint

NAMES = ("loss", "reconstruction", "kl")
STEPS_PER_FRAME = 10
SIZE = QSize(620, 700)
PAINT_SECONDS = 0.02


def points(first: int, count: int) -> list[MetricPoint]:
    return [
        MetricPoint(
            epoch=1 + step // 1000,
            step=step,
            values={name: 100.0 / (1 + step) + i for i, name in enumerate(NAMES)},
        )
        for step in range(first, first + count)
    ]


def genqueue_frames(history: int, frames: int) -> list[float]:
    charts = LossCharts()
    charts.resize(SIZE)
    show(charts)
    for start in range(0, history, 10_000):
        charts.append(points(start, min(10_000, history - start)))
    _wait_for_redraw(charts, charts.redraw_count)
    times = []
    for frame in range(frames):
        new = points(history + frame * STEPS_PER_FRAME, STEPS_PER_FRAME)
        started = time.thread_time()
        before = charts.redraw_count
        charts.append(new)
        _wait_for_redraw(charts, before)
        times.append((time.thread_time() - started) * 1000)
    charts.close()
    return times


def _wait_for_redraw(charts: LossCharts, before: int) -> None:
    spin_until(lambda: charts.redraw_count > before, 10, "the chart's redraw")
    # The redraw only marks the plot for painting; the paint comes next.
    spin_for(PAINT_SECONDS)


def baseline_frames(history: int, frames: int) -> list[float]:
    widget = pg.PlotWidget(background="w")
    widget.resize(SIZE)
    show(widget)
    total = history + frames * STEPS_PER_FRAME
    steps = np.arange(total, dtype=float)
    values = [100.0 / (1 + steps) + i for i in range(len(NAMES))]
    curves = [widget.plot(pen=pg.mkPen(width=1.5)) for _ in NAMES]
    for curve, ys in zip(curves, values, strict=True):
        curve.setData(steps[:history], ys[:history])
    spin_for(PAINT_SECONDS)
    times = []
    for frame in range(frames):
        started = time.thread_time()
        end = history + (frame + 1) * STEPS_PER_FRAME
        for curve, ys in zip(curves, values, strict=True):
            curve.setData(steps[:end], ys[:end])
        spin_for(PAINT_SECONDS)
        times.append((time.thread_time() - started) * 1000)
    widget.close()
    return times


def row(history: int, frames: int) -> Row:
    application()
    ours, theirs = [], []
    for _ in range(2):
        ours += genqueue_frames(history, frames // 2)
        theirs += baseline_frames(history, frames // 2)
    return Row(
        key="chart_redraw",
        what=f"loss chart, {history:,} steps",
        unit="ms/frame",
        genqueue=statistics.median(ours),
        baseline=statistics.median(theirs),
        baseline_is="a pyqtgraph PlotWidget of the same size, three curves set to "
        "the same arrays",
        target=under(5, "ms"),
        note=f"three curves; {STEPS_PER_FRAME} steps appended a frame; UI-thread "
        f"CPU time, median of {len(ours)} frames",
        details={"p95_ms": sorted(ours)[int(0.95 * len(ours))]},
    )
