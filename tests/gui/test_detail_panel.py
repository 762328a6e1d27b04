"""The detail panel shows a job in four tabs, follows its deltas, ignores other jobs."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

from gui.detail import DetailPanel  # noqa: E402
from gui.detail.panel import PLACEHOLDER  # noqa: E402
from tests.gui.test_detail_factories import (  # noqa: E402
    STARTED,
    make_delta,
    make_detail,
    make_event,
    make_images,
    make_job,
    vae_points,
)


@pytest.fixture
def panel(qtbot) -> DetailPanel:
    widget = DetailPanel()
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    return widget


def test_a_new_panel_shows_the_placeholder(panel) -> None:
    assert panel.job_id is None
    assert panel.is_placeholder_shown()
    assert panel.placeholder.text() == PLACEHOLDER


def test_show_detail_fills_the_overview(panel) -> None:
    panel.show_detail(make_detail())

    overview = panel.overview
    assert panel.job_id == make_job().id
    assert not panel.is_placeholder_shown()
    assert overview.status_label.text() == "running"
    assert overview.progress.value() == 33
    assert overview.progress.text().startswith("epoch 1/3 · step 100 · ETA 2:00")
    assert overview.field_text("device") == "cpu, 2 threads"
    assert not overview.error_label.isVisible()


def test_show_detail_fills_every_tab(qtbot, panel, tmp_path) -> None:
    logs = [make_event(1, "log", {"level": "info", "message": "Training on digits."})]
    detail = make_detail(
        metrics=vae_points(250), images=make_images(tmp_path, 2), logs=logs
    )

    panel.show_detail(detail)

    assert panel.charts.point_count("kl") == 250
    assert panel.gallery.epoch_count() == 2
    assert "Training on digits." in panel.log_view.toPlainText()


def test_apply_delta_appends_metrics_logs_and_images(panel, tmp_path) -> None:
    images = make_images(tmp_path, 2)
    panel.show_detail(make_detail(metrics=vae_points(100), images=images[:1]))
    job = make_job(step=200, epoch=2)
    logs = [make_event(5, "log", {"level": "info", "message": "epoch 1 done"})]

    panel.apply_delta(
        make_delta(job, metrics=vae_points(100, start=101), images=images, logs=logs)
    )

    assert panel.charts.point_count("loss") == 200
    assert panel.gallery.current_epoch() == 2
    assert panel.overview.progress.value() == 66
    assert "epoch 1 done" in panel.log_view.toPlainText()


def test_a_reset_delta_starts_the_charts_over(panel) -> None:
    panel.show_detail(make_detail(metrics=vae_points(300)))

    panel.apply_delta(make_delta(metrics=vae_points(20), reset=True))

    assert panel.charts.point_count("loss") == 20


def test_a_delta_for_another_job_is_ignored(panel) -> None:
    panel.show_detail(make_detail(metrics=vae_points(10)))
    other = make_job(id="9e1c0000-0000-4000-8000-000000000000", status="failed")

    panel.apply_delta(make_delta(other, metrics=vae_points(50)))

    assert panel.charts.point_count("loss") == 10
    assert panel.overview.status_label.text() == "running"


def test_a_delta_with_no_job_shown_is_ignored(panel) -> None:
    panel.apply_delta(make_delta(metrics=vae_points(5)))

    assert panel.job_id is None
    assert panel.charts.point_count("loss") == 0


def test_clear_returns_to_the_placeholder(panel) -> None:
    panel.show_detail(make_detail(metrics=vae_points(10)))

    panel.clear()

    assert panel.job_id is None
    assert panel.is_placeholder_shown()
    assert panel.charts.point_count("loss") == 0


def test_a_failed_job_shows_its_error_and_a_succeeded_one_a_full_bar(panel) -> None:
    finished = STARTED + timedelta(minutes=3)
    failed = make_job(
        status="failed", error="CUDA out of memory.", finished_at=finished
    )
    panel.show_detail(make_detail(failed))
    assert panel.overview.error_label.isVisible()
    assert panel.overview.error_label.text() == "CUDA out of memory."

    succeeded = dataclasses.replace(failed, status="succeeded", error=None)
    panel.apply_delta(make_delta(succeeded))

    assert not panel.overview.error_label.isVisible()
    assert panel.overview.progress.value() == 100
    assert panel.overview.field_text("duration") == "3:00"


GENERATION = {
    "kind": "generate",
    "source": make_job().id,
    "mode": "interpolate",
    "count": 64,
    "seed": 7,
    "seed_b": None,
    "steps": 8,
    "method": "slerp",
    "indices": [0, 1, 2],
    "name": "",
}


def test_a_generation_job_shows_no_charts_epochs_or_unread_fields(panel) -> None:
    panel.tabs.setCurrentWidget(panel.charts)
    job = make_job(kind="generate", spec=GENERATION, epochs=0, epoch=0, step=0)

    panel.show_detail(make_detail(job))

    charts = panel.tabs.indexOf(panel.charts)
    assert not panel.tabs.isTabEnabled(charts)
    assert panel.tabs.currentWidget() is panel.gallery
    overview = panel.overview
    assert "epoch" not in overview.progress.text()
    assert overview.outputs_title.text().startswith("Images")
    texts = {label.text() for label in overview.spec_box.findChildren(QLabel)}
    assert {"steps", "8", "method", "slerp"} <= texts
    assert not {"count", "indices", "seed_b"} & texts
    panel.show_detail(make_detail())
    assert panel.tabs.isTabEnabled(charts)


def test_a_job_with_no_steps_yet_says_so_instead_of_an_empty_plot(panel) -> None:
    panel.show_detail(make_detail())
    panel.tabs.setCurrentWidget(panel.charts)

    assert panel.charts.empty_label.isVisible()
    assert not panel.charts.loss_plot.isVisible()
    panel.apply_delta(make_delta(metrics=vae_points(5)))
    assert not panel.charts.empty_label.isVisible()
    assert panel.charts.loss_plot.isVisible()
