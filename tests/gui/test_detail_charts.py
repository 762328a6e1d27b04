"""Loss charts keep every point, redraw at most twenty times a second, split GAN plots."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gui.detail.charts import LossCharts  # noqa: E402
from gui.detail.series import Series  # noqa: E402
from shared.history import MetricPoint  # noqa: E402
from tests.gui.test_detail_factories import gan_points, vae_points  # noqa: E402


@pytest.fixture
def charts(qtbot) -> LossCharts:
    widget = LossCharts()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_series_keeps_every_point_past_its_first_capacity() -> None:
    series = Series(capacity=4)

    for start in range(0, 100, 10):
        series.extend(list(range(start, start + 10)), [1.0] * 10)

    assert len(series) == 100
    assert series.steps().tolist() == list(range(100))


def test_ten_thousand_points_in_a_hundred_deltas_redraw_a_handful_of_times(
    qtbot, charts
) -> None:
    points = vae_points(10_000)

    for start in range(0, 10_000, 100):
        charts.append(points[start : start + 100])
    qtbot.wait(200)

    assert charts.point_count("loss") == 10_000
    assert 1 <= charts.redraw_count <= 3
    steps, values = charts.curve_data("kl")
    kl = [point.values["kl"] for point in points]
    assert steps[-1] == points[-1].step
    assert (values.min(), values.max()) == (min(kl), max(kl))


def test_smoothing_changes_the_drawn_values_but_not_their_number(qtbot, charts) -> None:
    points = vae_points(100)  # fewer than the plot's pixel columns: drawn whole
    charts.append(points)
    qtbot.waitUntil(lambda: charts.redraw_count == 1)
    raw = charts.curve_data("loss")[1].copy()

    charts._smoothed.setChecked(True)
    qtbot.waitUntil(lambda: charts.redraw_count == 2)

    smoothed = charts.curve_data("loss")[1]
    assert len(smoothed) == len(raw) == charts.point_count("loss") == 100
    assert not np.allclose(smoothed, raw)
    assert smoothed[0] == raw[0]


def test_gan_probabilities_get_their_own_plot(qtbot, charts) -> None:
    charts.append(gan_points(50))
    qtbot.waitUntil(lambda: charts.redraw_count == 1)

    loss_items = charts.loss_plot.getPlotItem().listDataItems()
    probability_items = charts.probability_plot.getPlotItem().listDataItems()
    # Unnamed items are the epoch-mean markers.
    assert {item.name() for item in loss_items} - {None} == {"d_loss", "g_loss"}
    assert {item.name() for item in probability_items} - {None} == {"d_real", "d_fake"}
    assert charts.probability_plot.isVisible()


def test_vae_charts_hide_the_probability_plot(qtbot, charts) -> None:
    charts.append(vae_points(10))
    qtbot.waitUntil(lambda: charts.redraw_count == 1)

    assert not charts.probability_plot.isVisible()


def test_clear_forgets_every_point_and_curve(qtbot, charts) -> None:
    charts.append(gan_points(50))
    qtbot.waitUntil(lambda: charts.redraw_count == 1)

    charts.clear()

    assert charts.point_count("d_loss") == 0
    assert charts.loss_plot.getPlotItem().listDataItems() == []
    assert not charts.probability_plot.isVisible()


def test_epoch_means_are_drawn_at_the_middle_of_each_epoch(qtbot, charts) -> None:
    charts.append(vae_points(300))

    charts.set_epoch_means([(1, {"loss": 125.0}), (2, {"loss": 121.0})])
    qtbot.waitUntil(lambda: charts.redraw_count >= 1)

    xs, ys = charts._markers["loss"].getData()
    assert xs.tolist() == [50.5, 150.5] and ys.tolist() == [125.0, 121.0]


def test_non_finite_values_are_left_out(qtbot, charts) -> None:
    points = [MetricPoint(1, 1, {"loss": 1.0}), MetricPoint(1, 2, {"loss": np.nan})]

    charts.append(points)

    assert charts.point_count("loss") == 1


def test_a_hundred_thousand_points_are_kept_and_drawn_a_few_per_pixel(
    qtbot, charts
) -> None:
    charts.append(vae_points(100_000))
    qtbot.waitUntil(lambda: charts.redraw_count == 1)
    charts.repaint()

    assert charts.point_count("loss") == 100_000
    drawn, _ = charts.curve_data("loss")
    # At most two blocks a pixel column, each its lowest and highest value, and
    # the tail of a block not yet full.
    columns = charts.plot_of("loss").getViewBox().width()
    assert 100 < len(drawn) <= 4 * columns + 128
    assert drawn[-1] == 100_000


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("fid_inception", "FID, Inception-v3 features"),
        ("fd_classifier", "Fréchet distance, classifier features"),
    ],
)
def test_quality_chart_draws_the_metric_the_job_measured_under_its_own_title(
    qtbot, charts, name: str, title: str
) -> None:
    means = [
        (1, {"loss": 9.0, name: 80.0, f"{name}_floor": 20.0}),
        (2, {"loss": 8.0, name: 60.0, f"{name}_floor": 21.0}),
    ]

    charts.set_epoch_means(means)

    assert charts.quality_name() == name
    assert charts.quality_points() == [(1, 80.0), (2, 60.0)]
    assert charts.quality_points("_floor") == [(1, 20.0), (2, 21.0)]
    assert title in charts.quality_plot.getPlotItem().titleLabel.text
    assert charts.quality_plot.isVisible()


def test_the_quality_chart_keeps_every_epoch_in_view(qtbot, charts) -> None:
    values = [67.6, 47.7, 24.0, 21.2, 92.4, 34.2]
    charts.append(
        MetricPoint(epoch=1 + step // 32, step=step + 1, values={"d_loss": 1.0})
        for step in range(32 * len(values))
    )
    charts.set_epoch_means(
        [
            (epoch, {"d_loss": 1.0, "fd_classifier": value})
            for epoch, value in enumerate(values, start=1)
        ]
    )
    qtbot.wait(300)

    (left, right), (bottom, top) = charts.quality_plot.getViewBox().viewRange()
    assert left <= 1 and right >= len(values)
    assert bottom <= min(values) and top >= max(values)


def test_a_job_without_a_quality_metric_shows_no_quality_chart(qtbot, charts) -> None:
    charts.set_epoch_means([(1, {"loss": 9.0})])

    assert charts.quality_name() is None and charts.quality_points() == []
    assert not charts.quality_plot.isVisible()


def test_a_zoomed_plot_gets_every_point_and_following_again_the_envelope(
    qtbot, charts
) -> None:
    charts.append(vae_points(20_000))
    qtbot.waitUntil(lambda: charts.redraw_count == 1)
    assert len(charts.curve_data("loss")[0]) < 5_000
    view = charts.loss_plot.getViewBox()

    # What a turn of the mouse wheel does: a range of its own, then the signal.
    view.setXRange(1_000, 2_000)
    view.sigRangeChangedManually.emit([True, False])
    qtbot.waitUntil(lambda: charts.redraw_count == 2)
    assert len(charts.curve_data("loss")[0]) == 20_000

    view.enableAutoRange()
    charts.append(vae_points(10, start=20_001))
    qtbot.waitUntil(lambda: charts.redraw_count == 3)
    steps, _ = charts.curve_data("loss")
    assert len(steps) < 5_000 and steps[-1] == 20_010


def test_another_job_opens_at_its_own_range_after_a_zoomed_one(qtbot, charts) -> None:
    charts.append(vae_points(2_000))
    qtbot.waitUntil(lambda: charts.redraw_count == 1)
    view = charts.loss_plot.getViewBox()
    view.setRange(xRange=(15, 32), yRange=(2.1, 3.8))
    view.sigRangeChangedManually.emit([True, True])

    charts.clear()
    charts.append(vae_points(500, start=1))

    assert all(view.autoRangeEnabled())
    qtbot.waitUntil(lambda: view.viewRange()[0][1] >= 500)
    assert view.viewRange()[1][1] > 100  # the losses' own scale, not the old zoom
