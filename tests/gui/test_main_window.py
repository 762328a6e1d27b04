"""The main window's filters keep the selection and the job count true."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gui.main_window import MainWindow  # noqa: E402
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
