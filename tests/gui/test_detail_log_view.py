"""The log tab lists state changes, log lines and errors with their tracebacks."""

from __future__ import annotations

import os
from datetime import datetime

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from gui.detail.log_view import LogView, format_event, severity  # noqa: E402
from tests.gui.test_detail_factories import make_event  # noqa: E402

RUNNING = {"status": "running", "device": "cuda:0 (H200)", "worker": "celery@gpu"}
ERROR = {"message": "CUDA out of memory.", "traceback": "Traceback:\n  File x.py\n"}


@pytest.fixture
def log_view(qtbot) -> LogView:
    widget = LogView()
    qtbot.addWidget(widget)
    return widget


def test_a_state_event_names_the_worker_and_device() -> None:
    event = make_event(1, "state", RUNNING)
    clock = datetime.fromtimestamp(event.time).strftime("%H:%M:%S")

    assert (
        format_event(event) == f"{clock}  state → running on celery@gpu (cuda:0 (H200))"
    )


def test_an_error_event_indents_its_traceback() -> None:
    lines = format_event(make_event(2, "error", ERROR)).splitlines()

    assert lines[0].endswith("ERROR  CUDA out of memory.")
    assert lines[1:] == ["        Traceback:", "          File x.py"]


def test_events_are_appended_once_and_other_types_skipped(log_view) -> None:
    log_view.show_events([make_event(1, "state", RUNNING)])
    progress = make_event(2, "progress", {"step": 1})

    log_view.append_events([make_event(1, "state", RUNNING), progress])
    log_view.append_events([make_event(3, "error", ERROR)])

    text = log_view.toPlainText()
    assert text.count("state → running") == 1
    assert "progress" not in text
    assert "CUDA out of memory." in text and "File x.py" in text


def test_errors_and_warnings_are_marked_for_colour() -> None:
    assert severity(make_event(1, "error", ERROR)) == "error"
    assert severity(make_event(2, "state", {"status": "failed"})) == "error"
    assert severity(make_event(3, "log", {"level": "warning"})) == "warning"
    assert severity(make_event(4, "state", RUNNING)) == "normal"


def test_log_lines_show_their_level(log_view) -> None:
    log_view.show_events(
        [make_event(1, "log", {"level": "warning", "message": "Slow."})]
    )

    assert "WARNING Slow." in log_view.toPlainText()
