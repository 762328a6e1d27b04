"""The main window's filters keep the selection and the job count true."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSize  # noqa: E402

from gui.detail_model import JobDetail  # noqa: E402
from gui.main_window import MainWindow, first_size  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.gui.test_jobs_table import make_job  # noqa: E402


def shown_window(qtbot, tmp_path: Path) -> tuple[MainWindow, list[str]]:
    """A window holding eight jobs, and the job ids it asks the backend to load."""
    window = MainWindow(Settings.load(home=tmp_path, environ={}))
    qtbot.addWidget(window)
    requested: list[str] = []
    window.select_requested.connect(requested.append)
    window.on_jobs_reset([make_job(n) for n in range(8)])
    window.show()
    return window, requested


def test_a_filter_that_keeps_the_selected_job_keeps_it_selected_quietly(
    qtbot, tmp_path: Path
) -> None:
    window, requested = shown_window(qtbot, tmp_path)
    window.select_job(make_job(5).id)
    assert requested == [make_job(5).id]

    window.status_filter.setCurrentIndex(window.status_filter.findData("running"))

    assert window.selected_job().id == make_job(5).id
    assert requested == [make_job(5).id]  # its details are not loaded again
    assert window.jobs_label.text() == "jobs: 2 of 8"


def test_a_filter_that_hides_the_selected_job_empties_the_selection(
    qtbot, tmp_path: Path
) -> None:
    window, requested = shown_window(qtbot, tmp_path)
    window.select_job(make_job(4).id)

    window.model_filter.setCurrentIndex(window.model_filter.findData("vae"))

    assert window.selected_job() is None
    assert requested == [make_job(4).id, ""]
    assert not window.actions_by_name["cancel"].isEnabled()
    assert window.jobs_label.text() == "jobs: 4 of 8"
    window.text_filter.setText("job 3")
    assert window.jobs_label.text() == "jobs: 1 of 8"


def test_a_job_that_finished_no_epoch_offers_neither_generate_nor_train_more(
    qtbot, tmp_path: Path
) -> None:
    window, _ = shown_window(qtbot, tmp_path)
    cancelled = make_job(3, status="cancelled", epoch=1)
    window.on_jobs_changed([cancelled])
    window.select_job(cancelled.id)
    actions = window.actions_by_name
    assert not actions["generate"].isEnabled() and not actions["more"].isEnabled()

    # Its details show that epoch 1 did end before the cancel came.
    window.detail.show_detail(JobDetail(cancelled, epoch_means=[(1, {"loss": 2.0})]))
    window.on_detail_changed(None)

    assert actions["generate"].isEnabled() and actions["more"].isEnabled()


def test_the_window_opens_no_larger_than_the_screen(qtbot, tmp_path: Path) -> None:
    window, _ = shown_window(qtbot, tmp_path)
    room = window.screen().availableGeometry()

    assert window.width() <= room.width()
    assert window.height() <= room.height()
    # On a screen larger than the app wants, it opens at its own size.
    assert first_size(QSize(400, 300)) == QSize(400, 300)
