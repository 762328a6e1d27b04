"""The overview tab names the job's state, spec, timing and outputs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

from gui.detail.overview import (  # noqa: E402
    JobOverview,
    format_clock,
    progress_percent,
    progress_text,
)
from tests.gui.test_detail_factories import make_job  # noqa: E402


@pytest.fixture
def overview(qtbot) -> JobOverview:
    widget = JobOverview()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_clock_shows_hours_only_when_needed() -> None:
    assert format_clock(125) == "2:05"
    assert format_clock(3725) == "1:02:05"


def test_progress_counts_steps_of_all_epochs() -> None:
    assert progress_percent(make_job(step=150)) == 50
    assert progress_percent(make_job(step=0, status="queued")) == 0
    assert progress_percent(make_job(step=10, status="succeeded")) == 100


def test_progress_text_has_an_eta_only_while_running() -> None:
    assert progress_text(make_job()) == "epoch 1/3 · step 100 · ETA 2:00"
    assert progress_text(make_job(status="cancelled")) == "epoch 1/3 · step 100"


def test_spec_rows_skip_none_values(overview) -> None:
    overview.show_job(make_job())

    labels = overview.spec_box.findChildren(QLabel)
    texts = {label.text() for label in labels}
    assert {"lr", "0.001", "epochs", "3"} <= texts
    assert "image_size" not in texts


def test_open_folder_is_enabled_only_for_an_existing_folder(overview, tmp_path) -> None:
    overview.show_job(make_job(samples_dir=str(tmp_path / "gone")))
    assert not overview.open_button.isEnabled()

    overview.show_job(make_job(samples_dir=str(tmp_path)))

    assert overview.open_button.isEnabled()
    assert overview.field_text("samples") == str(tmp_path)


def test_an_interrupted_job_shows_its_error(overview) -> None:
    overview.show_job(
        make_job(status="interrupted", error="Worker celery@box vanished.")
    )

    assert overview.error_label.isVisible()
    assert "#8b1a1a" in overview.status_label.styleSheet()


def test_the_model_row_says_whether_the_model_is_shared_or_on_the_worker(
    overview,
) -> None:
    url = "s3://models/genqueue/3f2b9c1e"
    overview.show_job(make_job(status="succeeded", outputs=url))
    shared_title = overview.outputs_title.text()

    overview.show_job(make_job(status="succeeded"))

    assert shared_title == "Model (shared location)"
    assert overview.outputs_title.text() == "Model (on the worker)"
    assert overview.field_text("outputs") == "/srv/genqueue/outputs/3f2b9c1e"
