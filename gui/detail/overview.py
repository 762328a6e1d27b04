"""The overview tab: what a job is, where it ran, how far it got, where outputs lie."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.detail_model import eta_seconds
from shared.display import dataset_label, outputs_place, shown_spec
from shared.history import JobView

STATUS_COLOURS = {
    "queued": "#008b8b",
    "running": "#d48a00",
    "succeeded": "#2e8b3a",
    "failed": "#d0312d",
    "cancelled": "#b030b0",
    "interrupted": "#8b1a1a",
}
ERROR_STATUSES = frozenset({"failed", "interrupted"})


def format_clock(seconds: float) -> str:
    """``m:ss`` below an hour, ``h:mm:ss`` above."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_time(moment: datetime | None) -> str:
    """Local date and time to the second; a dash when unknown."""
    if moment is None:
        return "—"
    # Stored times without a zone are UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(duration: timedelta | None) -> str:
    return "—" if duration is None else format_clock(duration.total_seconds())


def progress_percent(job: JobView) -> int:
    """Share of the job's steps done, 0-100; a succeeded job is always 100."""
    if job.status == "succeeded":
        return 100
    if not job.epochs:  # a generation job: nothing to count until it ends
        return 0
    if job.steps_per_epoch:
        done = job.step / (job.steps_per_epoch * job.epochs)
    else:
        done = (job.epoch - 1) / job.epochs if job.epoch else 0.0
    return max(0, min(100, int(done * 100)))


def progress_text(job: JobView) -> str:
    """``epoch e/E · step s · ETA m:ss``; the ETA only while the job runs.

    A generation job has no epochs or steps: its bar says only how far it is.
    """
    if job.kind != "train":
        return "%p%"
    parts = [f"epoch {job.epoch}/{job.epochs}", f"step {job.step:,}"]
    eta = eta_seconds(job)
    if eta is not None:
        parts.append(f"ETA {format_clock(eta)}")
    return " · ".join(parts)


def _selectable(text: str = "") -> QLabel:
    label = QLabel(text)
    # Names, paths and errors come from people and workers: never read them as HTML.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    # A long path must not widen the panel past the window: the label may shrink
    # below its text, which is clipped, and the tooltip shows it whole.
    label.setMinimumWidth(40)
    return label


# Spec fields the header and the Run box already show.
SHOWN_ELSEWHERE = frozenset({"kind", "model", "dataset", "name"})


class JobOverview(QScrollArea):
    """The job's identity, progress, timing, error and output locations."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, QLabel] = {}
        self._samples_dir: Path | None = None
        self._spec: dict[str, object] | None = None
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(12)
        layout.addLayout(self._build_header())
        layout.addWidget(self._build_progress())
        layout.addWidget(self._build_error())
        # One box under the other: side by side, paths had half the width.
        layout.addWidget(self._build_run())
        layout.addWidget(self._build_spec())
        layout.addWidget(self._build_outputs())
        layout.addStretch()
        self.setWidget(body)

    def _build_header(self) -> QVBoxLayout:
        self.name_label = QLabel()
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        self.name_label.setStyleSheet("font-size: 16pt; font-weight: 600;")
        # A long name wraps rather than pushing the status badge out of sight.
        self.name_label.setWordWrap(True)
        self.name_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.status_label = QLabel()
        self.id_label = _selectable()
        self.id_label.setStyleSheet("color: #666;")
        top = QHBoxLayout()
        top.addWidget(self.name_label, 1)
        top.addSpacing(12)
        top.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignTop)
        header = QVBoxLayout()
        header.setSpacing(2)
        header.addLayout(top)
        header.addWidget(self.id_label)
        return header

    def _build_progress(self) -> QProgressBar:
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.progress.setMinimumHeight(24)
        return self.progress

    def _build_error(self) -> QLabel:
        self.error_label = _selectable()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(
            "color: #b00020; background: #fdecea; border: 1px solid #f5c2c0;"
            "border-radius: 4px; padding: 8px;"
        )
        self.error_label.hide()
        return self.error_label

    def _build_run(self) -> QGroupBox:
        box = QGroupBox("Run")
        form = self._form(box)
        for key in ("model", "dataset", "device", "worker", "submitted", "started"):
            self._add_field(form, key)
        for key in ("finished", "duration", "speed"):
            self._add_field(form, key)
        return box

    def _build_spec(self) -> QGroupBox:
        self.spec_box = QGroupBox("Spec")
        self.spec_form = self._form(self.spec_box)
        return self.spec_box

    def _build_outputs(self) -> QGroupBox:
        box = QGroupBox("Outputs")
        form = self._form(box)
        # Titled by where the model lies, which only the job's outputs tell.
        self.outputs_title = QLabel("Model (on the worker)")
        self._fields["outputs"] = _selectable()
        form.addRow(self.outputs_title, self._fields["outputs"])
        self._fields["samples"] = _selectable()
        form.addRow("Samples (here)", self._fields["samples"])
        # On a row of its own, so it never covers the end of the path.
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self._on_open_clicked)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addStretch()
        form.addRow("", row)
        return box

    @staticmethod
    def _form(box: QGroupBox) -> QFormLayout:
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(16)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        return form

    def _add_field(self, form: QFormLayout, key: str, title: str = "") -> None:
        # Unwrapped: a wrapping label in a form cuts lines short; the scroll area
        # takes a long path instead.
        label = self._fields[key] = _selectable()
        form.addRow(title or key.capitalize(), label)

    def field_text(self, key: str) -> str:
        """The text shown for one field, such as ``device`` or ``outputs``."""
        return self._fields[key].text()

    def show_job(self, job: JobView) -> None:
        """Show ``job`` in every field."""
        title = job.name or f"{job.model} on {dataset_label(job.dataset)}"
        self.name_label.setText(title)
        self.name_label.setToolTip(title)
        self._show_status(job.status)
        self.id_label.setText(f"{job.short_id}   ·   {job.id}")
        self.progress.setValue(progress_percent(job))
        self.progress.setFormat(progress_text(job))
        self._show_run(job)
        self._show_spec(job)
        self._show_error(job)
        self._show_outputs(job)

    def _show_status(self, status: str) -> None:
        colour = STATUS_COLOURS.get(status, "#666")
        self.status_label.setText(status)
        self.status_label.setStyleSheet(
            f"color: white; background: {colour}; border-radius: 9px;"
            "padding: 2px 10px; font-weight: 600;"
        )

    def _show_run(self, job: JobView) -> None:
        speed = job.images_per_second
        values = {
            "model": job.model,
            "dataset": job.dataset,
            "device": job.device or "—",
            "worker": job.worker or "—",
            "submitted": format_time(job.submitted_at),
            "started": format_time(job.started_at),
            "finished": format_time(job.finished_at),
            "duration": format_duration(job.duration),
            "speed": "—" if speed is None else f"{speed:,.0f} images/s",
        }
        for key, text in values.items():
            self._fields[key].setText(text)
            self._fields[key].setToolTip(text)

    def _show_spec(self, job: JobView) -> None:
        if job.spec == self._spec:
            return
        self._spec = dict(job.spec)
        while self.spec_form.rowCount():
            self.spec_form.removeRow(0)
        for key, value in shown_spec(job.spec).items():
            if key not in SHOWN_ELSEWHERE:
                self.spec_form.addRow(key, _selectable(str(value)))

    def _show_error(self, job: JobView) -> None:
        is_shown = job.status in ERROR_STATUSES and bool(job.error)
        self.error_label.setText(job.error or "")
        self.error_label.setVisible(is_shown)

    def _show_outputs(self, job: JobView) -> None:
        self._fields["outputs"].setText(job.outputs or "—")
        self._fields["outputs"].setToolTip(job.outputs or "")
        what = "Model" if job.kind == "train" else "Images"
        self.outputs_title.setText(f"{what} ({outputs_place(job.outputs)})")
        self._samples_dir = Path(job.samples_dir) if job.samples_dir else None
        self._fields["samples"].setText(job.samples_dir or "—")
        self._fields["samples"].setToolTip(job.samples_dir or "")
        has_folder = self._samples_dir is not None and self._samples_dir.is_dir()
        self.open_button.setEnabled(has_folder)

    def _on_open_clicked(self) -> None:
        if self._samples_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._samples_dir)))
