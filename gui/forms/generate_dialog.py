"""The Generate dialog: what to draw from a finished training job's model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.forms import FORM_STYLE, note_label, show_note
from shared.errors import SpecError
from shared.generation import MODE_FIELDS, GenerateSpec, mode_fits
from shared.history import JobView

MODES = (
    ("Samples from a seed", "samples"),
    ("Interpolate between two seeds", "interpolate"),
    ("Reconstruct dataset images (VAEs)", "reconstruct"),
    ("One row per class (conditional models)", "classes"),
)


class GenerateDialog(QDialog):
    """Asks how to draw from a model; emits a GenerateSpec when Submit is clicked."""

    submit_requested = Signal(object)

    def __init__(self, source: JobView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.setWindowTitle(f"Generate from {source.name or source.id[:8]}")
        self.setStyleSheet(FORM_STYLE)
        self._edits = {
            "count": QLineEdit("64"),
            "seed": QLineEdit("0"),
            "seed_b": QLineEdit("1"),
            "steps": QLineEdit("10"),
            "indices": QLineEdit("0,1,2,3,4,5,6,7"),
        }
        self._build()
        self._on_mode_changed()

    def _build(self) -> None:
        self._mode = QComboBox()
        for text, mode in MODES:
            self._mode.addItem(text, mode)
            if not mode_fits(mode, self.source.model):
                # Shown but greyed, so the mode is known to exist for other models.
                item = self._mode.model().item(self._mode.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
                item.setToolTip(f"A {self.source.model} cannot draw this.")
        self._method = QComboBox()
        self._method.addItem("spherical (slerp)", "slerp")
        self._method.addItem("linear", "linear")
        self._form = QFormLayout()
        self._form.addRow("Mode", self._mode)
        # The fields each mode reads are shown; the others are hidden.
        labels = {"count": "Images", "seed": "Seed", "seed_b": "End seed"}
        labels |= {"steps": "Steps", "indices": "Dataset images"}
        for name, edit in self._edits.items():
            self._form.addRow(labels[name], edit)
            edit.textChanged.connect(self._on_field_changed)
        self._form.addRow("Path", self._method)
        self._error = note_label()
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self._submit = self._buttons.addButton(
            "Generate", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self._buttons.rejected.connect(self.reject)
        self._submit.clicked.connect(self._on_submit_clicked)
        self._mode.currentIndexChanged.connect(self._on_mode_changed)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self._error)
        layout.addWidget(self._buttons)

    def spec(self) -> GenerateSpec | None:
        """The spec the fields describe, or None while a value is refused."""
        try:
            return GenerateSpec.from_json(self._values())
        except (SpecError, ValueError):
            return None

    def show_error(self, text: str) -> None:
        show_note(self._error, text)
        self._submit.setEnabled(True)

    def _values(self) -> dict[str, Any]:
        mode = self._mode.currentData()
        values: dict[str, Any] = {"source": self.source.id, "mode": mode}
        for name in MODE_FIELDS[mode]:
            if name == "method":
                values["method"] = self._method.currentData()
            elif name == "indices":
                text = self._edits[name].text()
                values[name] = [int(p) for p in text.split(",") if p.strip()]
            else:
                values[name] = int(self._edits[name].text())
        return values

    def _on_mode_changed(self, *_: object) -> None:
        shown = MODE_FIELDS[self._mode.currentData()]
        for name, edit in self._edits.items():
            self._form.setRowVisible(edit, name in shown)
        self._form.setRowVisible(self._method, "method" in shown)
        self._on_field_changed()

    def _on_field_changed(self, *_: object) -> None:
        try:
            GenerateSpec.from_json(self._values())
        except ValueError:
            show_note(self._error, "Whole numbers only; indices like 0,1,2.")
            self._submit.setEnabled(False)
            return
        except SpecError as exc:
            show_note(self._error, str(exc))
            self._submit.setEnabled(False)
            return
        show_note(self._error, "")
        self._submit.setEnabled(True)

    def _on_submit_clicked(self) -> None:
        spec = self.spec()
        if spec is not None:
            self._submit.setEnabled(False)
            self.submit_requested.emit(spec)
