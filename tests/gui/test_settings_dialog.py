"""The settings dialog hides the broker password and refuses URLs that are not Redis."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from PySide6.QtWidgets import QDialogButtonBox, QLabel, QPushButton  # noqa: E402

from gui.forms.settings_dialog import URL_HELP, SettingsDialog  # noqa: E402

URL = "redis://:hunter2@gpu-box:6379/0"


def make(qtbot, url: str | None, home: Path) -> SettingsDialog:
    dialog = SettingsDialog(url, home)
    qtbot.addWidget(dialog)
    return dialog


def button(dialog: SettingsDialog, text: str) -> QPushButton:
    return next(b for b in dialog.findChildren(QPushButton) if b.text() == text)


def ok_button(dialog: SettingsDialog) -> QPushButton:
    return dialog._buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_masked_url_never_shows_the_password(qtbot, tmp_path) -> None:
    dialog = make(qtbot, URL, tmp_path)

    assert dialog._url_edit.text() == "redis://:***@gpu-box:6379/0"
    assert all("hunter2" not in label.text() for label in dialog.findChildren(QLabel))
    assert dialog.values() == (URL, tmp_path)


def test_show_reveals_the_real_url(qtbot, tmp_path) -> None:
    dialog = make(qtbot, URL, tmp_path)

    button(dialog, "Show").click()

    assert dialog._url_edit.text() == URL


def test_editing_the_masked_url_keeps_the_real_password(qtbot, tmp_path) -> None:
    dialog = make(qtbot, URL, tmp_path)

    dialog._url_edit.selectAll()
    qtbot.keyClicks(dialog._url_edit, "redis://:***@other-box:6380/0")

    assert dialog.values()[0] == "redis://:hunter2@other-box:6380/0"


def test_invalid_url_is_marked_and_disables_ok(qtbot, tmp_path) -> None:
    dialog = make(qtbot, URL, tmp_path)

    dialog._url_edit.selectAll()
    qtbot.keyClicks(dialog._url_edit, "http://gpu-box:6379")

    assert not ok_button(dialog).isEnabled()
    assert dialog._url_edit.property("invalid") is True
    assert dialog._url_note.text() == URL_HELP


def test_blank_url_means_the_embedded_redis(qtbot, tmp_path) -> None:
    dialog = make(qtbot, None, tmp_path)

    assert ok_button(dialog).isEnabled()
    assert dialog.values() == (None, tmp_path)


def test_test_connection_emits_the_real_url(qtbot, tmp_path) -> None:
    dialog = make(qtbot, URL, tmp_path)

    with qtbot.waitSignal(dialog.test_requested) as blocker:
        button(dialog, "Test connection").click()

    assert blocker.args == [URL]
    assert not dialog._test_button.isEnabled()


def test_test_result_is_shown_and_testing_can_start_again(qtbot, tmp_path) -> None:
    dialog = make(qtbot, URL, tmp_path)
    button(dialog, "Test connection").click()

    dialog.show_test_result(False, "Cannot reach Redis at gpu-box:6379.")

    assert dialog._test_note.text() == "Cannot reach Redis at gpu-box:6379."
    assert dialog._test_note.property("note") == "error"
    assert dialog._test_button.isEnabled()


def test_changing_home_says_it_takes_effect_after_restart(
    qtbot, tmp_path, monkeypatch
) -> None:
    dialog = make(qtbot, URL, tmp_path)
    new_home = tmp_path / "elsewhere"
    monkeypatch.setattr(
        "gui.forms.settings_dialog.QFileDialog.getExistingDirectory",
        lambda *args: str(new_home),
    )

    button(dialog, "Change…").click()

    assert dialog.values() == (URL, new_home)
    assert "after restart" in dialog._home_note.text()
