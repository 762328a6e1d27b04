"""Loss curves of the shown job, redrawn at most twenty times a second.

Losses share one plot; a GAN's discriminator outputs, being probabilities, get a second
plot below it with a fixed 0-1 axis. The sample-quality metric, measured once an epoch,
gets a third plot against the epoch, with its real-vs-real floor as a dashed line.
Non-finite values are not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from gui.detail.series import Series
from shared.history import MetricPoint

PROBABILITY_NAMES = frozenset({"d_real", "d_fake"})
# The quality metrics a worker may measure, by the key it writes into each epoch's
# means (its floor under the key + "_floor"), with the title their chart gets.
QUALITY_LABELS = {
    "fid_inception": "FID, Inception-v3 features (lower is better)",
    "fd_classifier": "Fréchet distance, classifier features (lower is better)",
}
REDRAW_MS = 50
# The envelope's width before the plot has one of its own.
FALLBACK_COLUMNS = 1000
# Tableau's ten colours stay apart from each other on a white background.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _numbers(values: dict[str, Any]) -> Iterable[tuple[str, float]]:
    for name, value in values.items():
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and math.isfinite(value):
            yield name, float(value)


def _make_plot(y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    plot = widget.getPlotItem()
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setLabel("bottom", "step", color="#444")
    plot.setLabel("left", y_label, color="#444")
    # A backed legend stays readable over the curves it covers.
    plot.addLegend(
        offset=(-10, 10), labelTextColor="#333", brush=(255, 255, 255, 210), pen="#ccc"
    )
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setTextPen("#444")
        axis.setPen("#999")
        # An axis with a grid covers the whole plot, so every redraw of a curve
        # would replay its labels and lines too; cached, it is copied instead.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return widget


class LossCharts(QWidget):
    """Line plots of every loss, against the global step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.redraw_count = 0
        self._series: dict[str, Series] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        # The newest steps of each curve, outside the plot's range finding, so
        # the range moves a block of steps at a time instead of every redraw.
        self._tails: dict[str, pg.PlotCurveItem] = {}
        # What each curve last drew, so a redraw that only grows the tail
        # leaves the curve itself alone.
        self._drawn: dict[str, tuple[int, int, bool]] = {}
        self._markers: dict[str, pg.PlotDataItem] = {}
        self._epoch_means: list[tuple[int, dict[str, Any]]] = []
        self._epoch_steps: dict[int, tuple[int, int]] = {}
        self._dirty: set[str] = set()
        # The epoch-mean markers move only when means arrive, a finished epoch
        # gains steps or a toggle changes; not with every step appended.
        self._are_means_dirty = False
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self._on_redraw_timeout)
        self._build()

    def _build(self) -> None:
        self._smoothed = QCheckBox("Smoothed")
        self._smoothed.setToolTip("Exponential moving average of the last ~20 steps")
        self._smoothed.toggled.connect(self._on_smoothed_toggled)
        self._show_means = QCheckBox("Epoch means")
        self._show_means.setChecked(True)
        self._show_means.toggled.connect(self._on_show_means_toggled)
        options = QHBoxLayout()
        options.addWidget(self._smoothed)
        options.addWidget(self._show_means)
        options.addStretch()
        self.loss_plot = _make_plot("loss")
        self.probability_plot = _make_plot("probability")
        self.probability_plot.setXLink(self.loss_plot)
        for plot in (self.loss_plot, self.probability_plot):
            plot.getViewBox().sigRangeChangedManually.connect(
                self._on_range_changed_by_hand
            )
        self.probability_plot.setYRange(0, 1, padding=0.02)
        self.probability_plot.setMouseEnabled(y=False)
        self.probability_plot.hide()
        self.quality_plot = _make_plot("Fréchet distance")
        self.quality_plot.setLabel("bottom", "epoch")
        # A point an epoch needs no clipping or downsampling, and clipping to
        # the view kept the range found before the newest epoch's point came,
        # which then fell outside it.
        self.quality_plot.setClipToView(False)
        self.quality_plot.setDownsampling(auto=False)
        # No legend: the title says what the two lines are, and the newest
        # epoch's point, at the right edge, stays in sight.
        self.quality_plot.getPlotItem().legend.hide()
        self._quality = self.quality_plot.plot(
            pen=pg.mkPen(COLOURS[4], width=2), symbol="o", symbolSize=7
        )
        # Marked too, so a single epoch's floor shows before it is a line.
        floor_pen = pg.mkPen("#555", width=1, style=Qt.PenStyle.DashLine)
        self._floor = self.quality_plot.plot(
            pen=floor_pen, symbol="t", symbolSize=6, symbolBrush="#555", symbolPen=None
        )
        self.quality_plot.hide()
        self.loss_plot.hide()
        self.empty_label = QLabel("No steps yet: the curves start with the first.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #777;")
        layout = QVBoxLayout(self)
        layout.addLayout(options)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.probability_plot, 2)
        layout.addWidget(self.quality_plot, 2)

    def clear(self) -> None:
        """Forget every point and curve."""
        for plot in (self.loss_plot, self.probability_plot):
            plot.getPlotItem().clear()
            plot.hide()
        # The next job starts at its own range, whatever the last one was zoomed to.
        self.loss_plot.enableAutoRange()
        self.probability_plot.enableAutoRange(x=True)
        self.quality_plot.enableAutoRange()
        self.empty_label.show()
        self._quality.setData([], [])
        self._floor.setData([], [])
        self.quality_plot.hide()
        self._series.clear()
        self._curves.clear()
        self._tails.clear()
        self._drawn.clear()
        self._markers.clear()
        self._epoch_means = []
        self._epoch_steps.clear()
        self._dirty.clear()
        self._are_means_dirty = False

    def append(self, metrics: Iterable[MetricPoint]) -> None:
        """Add steps to the curves; the redraw follows within REDRAW_MS."""
        columns: dict[str, tuple[list[float], list[float]]] = {}
        epochs: set[int] = set()
        for point in metrics:
            epochs.add(point.epoch)
            first, last = self._epoch_steps.get(point.epoch, (point.step, point.step))
            self._epoch_steps[point.epoch] = (
                min(first, point.step),
                max(last, point.step),
            )
            for name, value in _numbers(point.values):
                steps, values = columns.setdefault(name, ([], []))
                steps.append(point.step)
                values.append(value)
        is_new_curve = not columns.keys() <= self._series.keys()
        for name, (steps, values) in columns.items():
            self._series_for(name).extend(steps, values)
        if is_new_curve or epochs & {epoch for epoch, _ in self._epoch_means}:
            self._are_means_dirty = True
        self._mark_dirty(columns)

    def set_epoch_means(self, epoch_means: list[tuple[int, dict[str, Any]]]) -> None:
        """Replace the per-epoch means drawn as markers."""
        if epoch_means == self._epoch_means:
            return
        self._epoch_means = list(epoch_means)
        self._draw_quality()
        self._mark_means_dirty()

    def quality_name(self) -> str | None:
        """The quality metric the job measured, named as in QUALITY_LABELS; or None."""
        for name in QUALITY_LABELS:
            if any(name in means for _, means in self._epoch_means):
                return name
        return None

    def quality_points(self, suffix: str = "") -> list[tuple[int, float]]:
        """(epoch, Fréchet distance) as drawn; empty when the job measured none.

        With suffix "_floor", the real-vs-real floor instead.
        """
        name = self.quality_name()
        if name is None:
            return []
        key = name + suffix
        return [
            (epoch, float(means[key]))
            for epoch, means in self._epoch_means
            if isinstance(means.get(key), (int, float))
        ]

    def _draw_quality(self) -> None:
        points, floors = self.quality_points(), self.quality_points("_floor")
        name = self.quality_name()
        if name is not None:
            title = f"{QUALITY_LABELS[name]}<br>dashed: real vs real, the floor"
            self.quality_plot.setTitle(title, size="9pt")
        self.quality_plot.setVisible(bool(points))
        self._quality.setData([e for e, _ in points], [v for _, v in points])
        self._floor.setData([e for e, _ in floors], [v for _, v in floors])
        # Epochs are whole: ticks every epoch, or every few once there are many.
        spacing = max(1, math.ceil(len(points) / 10))
        self.quality_plot.getAxis("bottom").setTickSpacing(spacing, spacing)

    def point_count(self, name: str) -> int:
        """How many points the curve ``name`` holds; 0 for an unknown name."""
        series = self._series.get(name)
        return 0 if series is None else len(series)

    def curve_data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The x and y arrays the curve ``name`` was last drawn with, tail and all."""
        curve, tail = self._curves[name], self._tails[name]
        if tail.xData is None or len(tail.xData) == 0:
            return curve.xData, curve.yData
        # The tail's first point is the curve's last, where the two join.
        xs = np.concatenate((curve.xData, tail.xData[1:]))
        return xs, np.concatenate((curve.yData, tail.yData[1:]))

    def plot_of(self, name: str) -> pg.PlotWidget:
        """The plot that holds the curve ``name``."""
        is_probability = name in PROBABILITY_NAMES
        return self.probability_plot if is_probability else self.loss_plot

    def _series_for(self, name: str) -> Series:
        series = self._series.get(name)
        if series is not None:
            return series
        series = self._series[name] = Series()
        colour = COLOURS[len(self._curves) % len(COLOURS)]
        plot = self.plot_of(name)
        plot.show()
        self.empty_label.hide()
        # One pixel wide: Qt draws such lines on its fast path, and a wider pen's
        # outline cost most of a frame with 100,000 steps.
        pen = pg.mkPen(colour, width=1)
        curve = plot.plot(name=name, pen=pen)
        # Once zoomed, one bin a pixel: the peak method keeps each bin's lowest
        # and highest value, with a fifth of the points pyqtgraph's default draws.
        curve.opts["autoDownsampleFactor"] = 1.0
        self._curves[name] = curve
        self._tails[name] = pg.PlotCurveItem(pen=pen)
        plot.addItem(self._tails[name], ignoreBounds=True)
        self._markers[name] = plot.plot(
            pen=None, symbol="o", symbolSize=10, symbolBrush=colour, symbolPen="#222"
        )
        return series

    def _mark_dirty(self, names: Iterable[str]) -> None:
        self._dirty.update(names)
        if (self._dirty or self._are_means_dirty) and not self._timer.isActive():
            self._timer.start()

    def _mark_means_dirty(self) -> None:
        self._are_means_dirty = True
        self._mark_dirty(())

    def _on_redraw_timeout(self) -> None:
        is_smoothed = self._smoothed.isChecked()
        for name in self._dirty:
            self._draw_curve(name, is_smoothed)
        if self._are_means_dirty:
            for name in self._series:
                self._draw_means(name)
            self._are_means_dirty = False
        self._dirty.clear()
        self.redraw_count += 1

    def _draw_curve(self, name: str, is_smoothed: bool) -> None:
        """Draw the curve's envelope while the plot follows every step.

        Once someone zooms or pans, every point, so the plot's own clipping and
        downsampling can show the detail of the range they chose.
        """
        series, plot = self._series[name], self.plot_of(name)
        views = (plot.getViewBox(), self.loss_plot.getViewBox())
        is_following = all(view.autoRangeEnabled()[0] for view in views)
        curve, tail = self._curves[name], self._tails[name]
        # The envelope is already a few points a pixel; reducing it again would
        # only move its bounds, and with them the plot's range, back and forth.
        curve.setDownsampling(auto=not is_following)
        if not is_following:
            values = series.values(is_smoothed=is_smoothed)
            curve.setData(series.steps(), values, skipFiniteCheck=True)
            tail.setData([], [])
            self._drawn.pop(name, None)
            return
        columns = int(plot.getViewBox().width()) or FALLBACK_COLUMNS
        drawn = series.envelope(columns, is_smoothed=is_smoothed)
        if self._drawn.get(name) != (*drawn.blocks, is_smoothed):
            curve.setData(drawn.steps, drawn.values, skipFiniteCheck=True)
            self._drawn[name] = (*drawn.blocks, is_smoothed)
        tail.setData(drawn.tail_steps, drawn.tail_values, skipFiniteCheck=True)

    def _on_range_changed_by_hand(self, *_: object) -> None:
        self._mark_dirty(self._series)

    def _draw_means(self, name: str) -> None:
        xs, ys = [], []
        if self._show_means.isChecked():
            for epoch, means in self._epoch_means:
                steps = self._epoch_steps.get(epoch)
                value = dict(_numbers(means)).get(name)
                if steps is not None and value is not None:
                    # A mean belongs to the whole epoch; its middle is where the
                    # curve passes near it.
                    xs.append(sum(steps) / 2)
                    ys.append(value)
        self._markers[name].setData(xs, ys)

    def _on_smoothed_toggled(self, _checked: bool) -> None:
        self._mark_dirty(self._series)

    def _on_show_means_toggled(self, _checked: bool) -> None:
        self._mark_means_dirty()
