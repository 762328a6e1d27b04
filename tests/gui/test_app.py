"""The desktop window opens offscreen and says where the history lives."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QLabel  # noqa: E402

from gui.app import build_window  # noqa: E402
from shared.settings import Settings  # noqa: E402


def test_main_window_names_the_history_file_and_hides_the_password(
    qtbot, tmp_path
) -> None:
    settings = Settings.load(
        home=tmp_path, broker_url="redis://:hunter2@gpu-box:6379/0", environ={}
    )

    window = build_window(settings)
    qtbot.addWidget(window)
    window.show()

    text = window.findChild(QLabel, "overview").text()
    assert str(settings.db_path) in text
    assert "redis://:***@gpu-box:6379/0" in text and "hunter2" not in text
