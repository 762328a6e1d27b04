"""The settings dialog: which broker to use and where genqueue keeps its files.

The broker URL is shown with its password hidden until the person asks to see it;
an edit to the hidden form keeps the real password unless a new one is typed.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.forms import FORM_STYLE, grow_to_fit, note_label, set_invalid, show_note
from shared.settings import redact

URL_HELP = "Use redis://:PASSWORD@HOST:PORT/0 or rediss://…"
EMBEDDED_HINT = "blank: the embedded Redis that `genqueue up` runs"
MASK = "***"


def is_broker_url(url: str) -> bool:
    """Whether `url` names a Redis server genqueue can use."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in {"redis", "rediss"} and bool(parts.hostname)


def restore_password(edited: str, password: str | None) -> str:
    """The edited URL with the hidden password back where the mask still stands."""
    try:
        parts = urlsplit(edited)
        is_masked = parts.password == MASK
    except ValueError:
        return edited
    if not is_masked or not password:
        return edited
    netloc = parts.netloc.replace(f":{MASK}@", f":{password}@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class SettingsDialog(QDialog):
    """Edits the broker URL and the home directory; the window saves the result."""

    test_requested = Signal(str)

    def __init__(
        self, broker_url: str | None, home: Path, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._url = broker_url or ""
        # Kept apart from the URL so that typing over the masked text keeps it.
        self._password = _password(self._url)
        self._first_home = home
        self._home = home
        self._is_masked = True
        self._is_testing = False
        self._build()
        self._connect()
        self._url_edit.setText(redact(self._url))
        self._refresh()

    def values(self) -> tuple[str | None, Path]:
        """The broker URL (None for the embedded Redis) and the home directory."""
        return (self._url.strip() or None, self._home)

    def show_test_result(self, ok: bool, text: str) -> None:
        """Show how the connection test ended, in green or red."""
        self._is_testing = False
        show_note(self._test_note, text, "ok" if ok else "error")
        self._refresh()

    def _build(self) -> None:
        self.setWindowTitle("Settings")
        self.setStyleSheet(FORM_STYLE)
        self._url_note = note_label()
        self._test_note = note_label()
        self._home_note = note_label()
        form = QFormLayout()
        form.addRow("Broker URL", self._url_row())
        form.addRow("Home directory", self._home_row())
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        layout.addWidget(self._buttons)
        self.resize(560, self.sizeHint().height())

    def _url_row(self) -> QWidget:
        self._url_edit = QLineEdit()
        self._url_edit.setPlaceholderText(EMBEDDED_HINT)
        self._show_button = QPushButton("Show")
        self._show_button.setCheckable(True)
        self._test_button = QPushButton("Test connection")
        row = QHBoxLayout()
        row.addWidget(self._url_edit, 1)
        row.addWidget(self._show_button)
        row.addWidget(self._test_button)
        return _holder(row, self._url_note, self._test_note)

    def _home_row(self) -> QWidget:
        self._home_edit = QLineEdit(str(self._home))
        self._home_edit.setReadOnly(True)
        self._change_button = QPushButton("Change…")
        row = QHBoxLayout()
        row.addWidget(self._home_edit, 1)
        row.addWidget(self._change_button)
        return _holder(row, self._home_note)

    def _connect(self) -> None:
        self._url_edit.textEdited.connect(self._on_url_edit_text_edited)
        self._show_button.toggled.connect(self._on_show_button_toggled)
        self._test_button.clicked.connect(self._on_test_button_clicked)
        self._change_button.clicked.connect(self._on_change_button_clicked)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)

    def _on_url_edit_text_edited(self, text: str) -> None:
        self._url = restore_password(text, self._password) if self._is_masked else text
        self._is_testing = False
        show_note(self._test_note, "")
        self._refresh()

    def _on_show_button_toggled(self, is_shown: bool) -> None:
        self._is_masked = not is_shown
        self._password = _password(self._url)
        self._show_button.setText("Hide" if is_shown else "Show")
        self._url_edit.setText(self._url if is_shown else redact(self._url))

    def _on_test_button_clicked(self) -> None:
        self._is_testing = True
        show_note(self._test_note, "Testing…", "hint")
        self._refresh()
        self.test_requested.emit(self._url.strip())

    def _on_change_button_clicked(self) -> None:
        title = "Choose genqueue's home directory"
        path = QFileDialog.getExistingDirectory(self, title, str(self._home))
        if not path:
            return
        self._home = Path(path)
        self._home_edit.setText(path)
        changed = self._home != self._first_home
        show_note(self._home_note, "Takes effect after restart." if changed else "")
        grow_to_fit(self)

    def _refresh(self) -> None:
        url = self._url.strip()
        is_valid = not url or is_broker_url(url)
        set_invalid(self._url_edit, not is_valid)
        show_note(self._url_note, "" if is_valid else URL_HELP)
        self._buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(is_valid)
        is_testable = bool(url) and is_valid and not self._is_testing
        self._test_button.setEnabled(is_testable)
        grow_to_fit(self)


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _holder(row: QHBoxLayout, *notes: QWidget) -> QWidget:
    """A row of controls with its notes close under it, as one cell of a form."""
    holder = QWidget()
    column = QVBoxLayout(holder)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    row.setContentsMargins(0, 0, 0, 0)
    column.addLayout(row)
    for note in notes:
        column.addWidget(note)
    return holder
