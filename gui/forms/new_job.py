"""The form for a new training job, each field checked against the spec as it is typed.

Number fields are plain line edits rather than spin boxes: a spin box quietly clamps
a value, and the person must see the refusal and the allowed range instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.forms import FORM_STYLE, grow_to_fit, note_label, set_invalid, show_note
from shared.datasets import detect_dataset
from shared.errors import DatasetError, SpecError
from shared.spec import (
    DEFAULT_LR,
    LIMITS,
    MODEL_KINDS,
    TrainSpec,
    describe_errors,
    unused_options,
)

MODELS = tuple((text, kind) for kind, text in MODEL_KINDS.items())
CHANNELS = (("Dataset's own", None), ("1 (grey)", 1), ("3 (RGB)", 3))
BASIC_FIELDS = {
    "epochs": "Epochs",
    "batch_size": "Batch size",
    "lr": "Learning rate",
    "latent_dim": "Latent size",
    "seed": "Seed",
    "name": "Name",
}
ADVANCED_FIELDS = {
    "image_size": "Image size",
    "max_images": "Max images",
    "kl_weight": "KL weight (β, VAEs)",
    "critic_steps": "Critic steps (WGAN-GP)",
}
OPTIONAL_FIELDS = frozenset({"image_size", "max_images"})
FLOAT_FIELDS = frozenset({"lr", "kl_weight"})
PLACEHOLDERS = {
    "name": "optional label",
    "image_size": "blank: the dataset's own",
    "max_images": "blank: all",
}
IDX_FILTER = "MNIST IDX (*idx3-ubyte *idx3-ubyte.gz);;All files (*)"
SETTINGS_KEY = "new_job/last_spec"
# Long enough that typing a path does not stat the disk on every key.
DATASET_DEBOUNCE_MS = 300
NO_DATASET = "Choose 'digits', an MNIST IDX file or folder, or an image folder."

_REQUIRED = {"model": "vae", "dataset": "digits"}
DEFAULTS: dict[str, Any] = {
    **_REQUIRED,
    **{n: f.default for n, f in TrainSpec.model_fields.items() if not f.is_required()},
}


def allowed_text(name: str) -> str:
    """The allowed values of a number field, as the note under it says them."""
    low, high = LIMITS[name]
    if name in FLOAT_FIELDS:
        return f"A number, {format_value(low)} – {format_value(high)}"
    blank = "Blank or a" if name in OPTIONAL_FIELDS else "A"
    return f"{blank} whole number, {int(low)} – {int(high)}"


def format_value(value: Any) -> str:
    """A spec value as a field shows it: 0.001 rather than 1e-03, blank for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.10f}".rstrip("0").rstrip(".")
        return text if float(text) == value else f"{value:g}"
    return str(value)


def parse_field(name: str, text: str) -> Any:
    """The value typed into a field; raises ValueError when it is not a number."""
    text = text.strip()
    if name == "name":
        return text
    if not text and name in OPTIONAL_FIELDS:
        return None
    return float(text) if name in FLOAT_FIELDS else int(text)


def check_field(name: str, value: Any) -> str:
    """Empty when the spec accepts `value` for `name`, else what it allows.

    Rules between fields, such as an option the model does not read, are left to
    the whole spec's check, which names them under the form.
    """
    try:
        TrainSpec.model_validate({**_REQUIRED, name: value})
    except ValidationError as exc:
        if not any(tuple(e["loc"]) == (name,) for e in exc.errors()):
            return ""
        return allowed_text(name) if name in LIMITS else describe_errors(exc)
    return ""


class NewJobDialog(QDialog):
    """Asks for a training job's spec; emits it, and leaves submitting to the window."""

    submit_requested = Signal(object)

    def __init__(self, settings_store: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self._store = settings_store
        self._spec: TrainSpec | None = None
        self._errors: dict[str, str] = {}
        self._dataset_note = ("", "")
        self._is_dataset_pending = False
        self._is_busy = False
        self._dataset_timer = QTimer(self)
        self._dataset_timer.setSingleShot(True)
        self._dataset_timer.setInterval(DATASET_DEBOUNCE_MS)
        self._build()
        self._connect()
        self.prefill(self._remembered())

    def spec(self) -> TrainSpec | None:
        """The spec the fields describe, or None while any field is refused."""
        return self._spec

    def field_error(self, name: str) -> str:
        """What is wrong with a field, or an empty string when it is accepted."""
        return self._errors.get(name, "")

    def prefill(self, spec: dict[str, Any]) -> None:
        """Load a spec (a job's, for Clone) into the fields; unknown keys are ignored."""
        values = {**DEFAULTS, **spec}
        if "lr" not in spec:
            values["lr"] = DEFAULT_LR.get(values["model"], values["lr"])
        # An option the model never read (a clone of an older job) is dropped.
        for name in unused_options(str(values["model"])):
            values[name] = DEFAULTS[name]
        self._model.setCurrentIndex(max(self._model.findData(values["model"]), 0))
        self._dataset.setEditText(str(values["dataset"]))
        for name, edit in self._edits.items():
            edit.setText(format_value(values.get(name)))
        channels = self._channels.findData(values.get("channels"))
        self._channels.setCurrentIndex(max(channels, 0))
        # A remembered image size or limit must not apply unseen.
        advanced = (*ADVANCED_FIELDS, "channels")
        if any(values.get(name) != DEFAULTS.get(name) for name in advanced):
            self._advanced_button.setChecked(True)
        self._check_dataset()

    def show_error(self, text: str) -> None:
        """Show why the window could not submit, and let the person try again."""
        self._is_busy = False
        self._submit.setText("Submit")
        self._revalidate()
        # After the fields are checked, which clears a note whose rule holds.
        show_note(self._error, text)
        grow_to_fit(self)

    def _build(self) -> None:
        self.setWindowTitle("New training job")
        self.setStyleSheet(FORM_STYLE)
        self._notes = {name: note_label() for name in ("dataset", *self._edit_names())}
        self._edits = {name: QLineEdit() for name in self._edit_names()}
        for name, text in PLACEHOLDERS.items():
            self._edits[name].setPlaceholderText(text)
        self._edits["name"].setMaxLength(200)
        layout = QVBoxLayout(self)
        layout.addLayout(self._basic_form())
        layout.addWidget(self._advanced_toggle(), 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self._advanced_form())
        self._error = note_label()
        layout.addWidget(self._error)
        layout.addStretch(1)
        layout.addWidget(self._buttons())

    @staticmethod
    def _edit_names() -> tuple[str, ...]:
        return (*BASIC_FIELDS, *ADVANCED_FIELDS)

    def _basic_form(self) -> QFormLayout:
        form = QFormLayout()
        self._model = QComboBox()
        for text, kind in MODELS:
            self._model.addItem(text, kind)
        form.addRow("Model", self._model)
        self._add_row(form, "Dataset", self._dataset_row(), "dataset")
        for name, label in BASIC_FIELDS.items():
            self._add_row(form, label, self._edits[name], name)
        return form

    def _dataset_row(self) -> QWidget:
        self._dataset = QComboBox()
        self._dataset.setEditable(True)
        self._dataset.addItem("digits")
        self._dataset.setMinimumContentsLength(28)
        self._folder_button = QPushButton("Folder…")
        self._idx_button = QPushButton("IDX file…")
        # Enter in a field submits; it must not open a file picker instead.
        for button in (self._folder_button, self._idx_button):
            button.setAutoDefault(False)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._dataset, 1)
        row.addWidget(self._folder_button)
        row.addWidget(self._idx_button)
        holder = QWidget()
        holder.setLayout(row)
        return holder

    def _add_row(
        self, form: QFormLayout, label: str, field: QWidget, name: str
    ) -> None:
        """A field with its note close under it."""
        cell = QWidget()
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(self._notes[name])
        form.addRow(label, cell)

    def _advanced_toggle(self) -> QToolButton:
        self._advanced_button = QToolButton()
        self._advanced_button.setObjectName("disclosure")
        self._advanced_button.setText("Advanced")
        self._advanced_button.setCheckable(True)
        self._advanced_button.setAutoRaise(True)
        self._advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self._advanced_button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        return self._advanced_button

    def _advanced_form(self) -> QWidget:
        self._advanced = QWidget()
        form = QFormLayout(self._advanced)
        form.setContentsMargins(16, 0, 0, 0)
        for name, label in ADVANCED_FIELDS.items():
            self._add_row(form, label, self._edits[name], name)
        self._channels = QComboBox()
        for text, channels in CHANNELS:
            self._channels.addItem(text, channels)
        form.addRow("Channels", self._channels)
        self._advanced.setVisible(False)
        return self._advanced

    def _buttons(self) -> QDialogButtonBox:
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self._submit = box.addButton("Submit", QDialogButtonBox.ButtonRole.AcceptRole)
        self._submit.setDefault(True)
        box.rejected.connect(self.reject)
        return box

    def _connect(self) -> None:
        for edit in self._edits.values():
            edit.textChanged.connect(self._on_field_changed)
        self._model.currentIndexChanged.connect(self._on_model_changed)
        self._channels.currentIndexChanged.connect(self._on_field_changed)
        self._dataset.editTextChanged.connect(self._on_dataset_text_changed)
        self._dataset_timer.timeout.connect(self._on_dataset_timer_timeout)
        self._folder_button.clicked.connect(self._on_folder_clicked)
        self._idx_button.clicked.connect(self._on_idx_clicked)
        self._advanced_button.toggled.connect(self._on_advanced_toggled)
        self._submit.clicked.connect(self._on_submit_clicked)

    def _on_field_changed(self, *_: object) -> None:
        self._revalidate()

    def _on_model_changed(self, *_: object) -> None:
        # Follow the model's published learning rate unless the person chose one.
        lr = self._edits["lr"]
        if lr.text() in {format_value(v) for v in DEFAULT_LR.values()}:
            lr.setText(format_value(DEFAULT_LR[self._model.currentData()]))
        # Options the new model does not read go back to their defaults, which
        # are the only values the spec lets it carry.
        for name in unused_options(self._model.currentData()):
            self._edits[name].setText(format_value(DEFAULTS[name]))
        self._revalidate()

    def _on_dataset_text_changed(self, _text: str) -> None:
        self._is_dataset_pending = True
        self._dataset_note = ("", "")
        self._dataset_timer.start()
        self._revalidate()

    def _on_dataset_timer_timeout(self) -> None:
        self._check_dataset()

    def _on_folder_clicked(self) -> None:
        title = "Choose a dataset folder"
        path = QFileDialog.getExistingDirectory(self, title, self._start_dir())
        if path:
            self._dataset.setEditText(path)

    def _on_idx_clicked(self) -> None:
        title = "Choose an MNIST IDX file"
        path, _ = QFileDialog.getOpenFileName(
            self, title, self._start_dir(), IDX_FILTER
        )
        if path:
            self._dataset.setEditText(path)

    def _on_advanced_toggled(self, is_open: bool) -> None:
        self._advanced.setVisible(is_open)
        arrow = Qt.ArrowType.DownArrow if is_open else Qt.ArrowType.RightArrow
        self._advanced_button.setArrowType(arrow)
        if not is_open:
            self.adjustSize()

    def _on_submit_clicked(self) -> None:
        if self._spec is None or self._is_busy:
            return
        self._remember(self._spec)
        self._is_busy = True
        self._submit.setText("Submitting…")
        show_note(self._error, "")
        self._revalidate()
        self.submit_requested.emit(self._spec)

    def _start_dir(self) -> str:
        path = Path(self._dataset.currentText().strip()).expanduser()
        if path.is_dir():
            return str(path)
        return str(path.parent if path.parent.is_dir() else Path.home())

    def _check_dataset(self) -> None:
        """Stat the dataset path now; cheap enough for the UI thread, but not per key."""
        self._dataset_timer.stop()
        self._is_dataset_pending = False
        text = self._dataset.currentText().strip()
        try:
            if not text:
                raise DatasetError(NO_DATASET)
            self._dataset_note = ("", detect_dataset(text).description)
        except DatasetError as exc:
            self._dataset_note = (str(exc), "")
        self._revalidate()

    def _revalidate(self) -> None:
        values, errors = self._read_fields()
        errors["dataset"] = self._dataset_note[0]
        self._errors = errors
        self._show_marks()
        is_ready = not any(errors.values()) and not self._is_dataset_pending
        self._spec = self._whole_spec(values) if is_ready else None
        self._submit.setEnabled(self._spec is not None and not self._is_busy)

    def _read_fields(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {
            "model": self._model.currentData(),
            "dataset": self._dataset.currentText().strip(),
            "channels": self._channels.currentData(),
        }
        errors: dict[str, str] = {}
        for name, edit in self._edits.items():
            try:
                values[name] = parse_field(name, edit.text())
            except ValueError:
                errors[name] = allowed_text(name)
                continue
            errors[name] = check_field(name, values[name])
        return values, errors

    def _whole_spec(self, values: dict[str, Any]) -> TrainSpec | None:
        try:
            spec = TrainSpec.from_json(values)
        except SpecError as exc:
            # Each field passed alone, so this is a rule that spans fields.
            show_note(self._error, str(exc))
            return None
        # Whatever rule was broken before holds now.
        show_note(self._error, "")
        return spec

    def _show_marks(self) -> None:
        for name, note in self._notes.items():
            error = self._errors.get(name, "")
            field = self._dataset if name == "dataset" else self._edits[name]
            set_invalid(field, bool(error))
            show_note(note, error)
        if not self._errors["dataset"]:
            show_note(self._notes["dataset"], self._dataset_note[1], "hint")
        if any(self._errors.get(name) for name in ADVANCED_FIELDS):
            self._advanced_button.setChecked(True)
        grow_to_fit(self)

    def _remembered(self) -> dict[str, Any]:
        try:
            spec = json.loads(str(self._store.value(SETTINGS_KEY, "{}")))
        except ValueError:
            return {}
        return spec if isinstance(spec, dict) else {}

    def _remember(self, spec: TrainSpec) -> None:
        # Not the name: a remembered one would label the next job as this one.
        values = {k: v for k, v in spec.to_json().items() if k != "name"}
        self._store.setValue(SETTINGS_KEY, json.dumps(values))
