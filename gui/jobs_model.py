"""The history table: a Qt model over job rows the backend loads, and its filter.

Display strings are worked out once when a row arrives, so ``data()`` is a lookup:
a view repaints 10,000 or 100,000 rows as fast as it repaints ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor

from shared.display import format_losses, progress_fraction
from shared.history import JobView

COLUMNS = (
    "id",
    "name",
    "kind",
    "model",
    "dataset",
    "status",
    "progress",
    "latest losses",
    "worker",
    "submitted",
    "duration",
)
STATUS_COLUMN = COLUMNS.index("status")
PROGRESS_COLUMN = COLUMNS.index("progress")
DATASET_COLUMN = COLUMNS.index("dataset")

JOB_ROLE = Qt.ItemDataRole.UserRole
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

STATUS_COLOURS = {
    "queued": QColor("#1b7fa6"),
    "running": QColor("#b7791f"),
    "succeeded": QColor("#2f855a"),
    "failed": QColor("#c53030"),
    "cancelled": QColor("#97266d"),
    "interrupted": QColor("#9b2c2c"),
}

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Row:
    """One job with its cell texts and sort keys, computed once."""

    job: JobView
    texts: tuple[str, ...]
    keys: tuple[Any, ...]
    progress: float

    @classmethod
    def of(cls, job: JobView) -> Row:
        progress = progress_fraction(job)
        duration = job.duration
        submitted = job.submitted_at.astimezone().strftime("%Y-%m-%d %H:%M")
        texts = (
            job.id[:8],
            job.name,
            job.kind,
            job.model,
            _dataset_label(job.dataset),
            job.status,
            _progress_text(job, progress),
            format_losses(job.latest),
            job.worker or "",
            submitted,
            _format_duration(duration.total_seconds()) if duration else "",
        )
        seconds = duration.total_seconds() if duration else -1.0
        keys = (*texts[:6], progress, texts[7], texts[8], job.submitted_at, seconds)
        return cls(job, texts, keys, progress)


def _progress_text(job: JobView, progress: float) -> str:
    # A generation job has no epochs to count.
    if not job.epochs:
        return f"{progress:.0%}"
    return f"{progress:.0%}  e{job.epoch}/{job.epochs}"


def _tooltip(job: JobView, column: int) -> str | None:
    if column == DATASET_COLUMN:
        return job.dataset
    return job.error


def _dataset_label(dataset: str) -> str:
    """A path's last two parts ("mnist/t10k-images-idx3-ubyte.gz"); names as they are."""
    parts = PurePath(dataset).parts
    return "/".join(parts[-2:]) if len(parts) > 2 else dataset


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class JobTableModel(QAbstractTableModel):
    """Every job in the history, newest first as loaded; one row per job."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self._positions: dict[str, int] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = 0
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS_COLUMN:
            return STATUS_COLOURS.get(row.job.status)
        if role == SORT_ROLE:
            return row.keys[column]
        if role == PROGRESS_ROLE:
            return row.progress
        if role == JOB_ROLE:
            return row.job
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(row.job, column)
        return None

    def job_at(self, row: int) -> JobView:
        return self._rows[row].job

    def row_of(self, job_id: str) -> int | None:
        return self._positions.get(job_id)

    def reset(self, jobs: list[JobView]) -> None:
        self.beginResetModel()
        self._rows = [Row.of(job) for job in jobs]
        self._reindex()
        self.endResetModel()

    def append(self, jobs: list[JobView]) -> None:
        if not jobs:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(jobs) - 1)
        self._rows.extend(Row.of(job) for job in jobs)
        self._reindex(start)
        self.endInsertRows()

    def update(self, jobs: list[JobView]) -> None:
        """Replace known rows in place and put new jobs on top."""
        new = []
        for job in jobs:
            position = self._positions.get(job.id)
            if position is None:
                new.append(job)
                continue
            self._rows[position] = Row.of(job)
            last = self.index(position, len(COLUMNS) - 1)
            self.dataChanged.emit(self.index(position, 0), last)
        if new:
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._rows[:0] = [Row.of(job) for job in new]
            self._reindex()
            self.endInsertRows()

    def remove(self, job_id: str) -> None:
        position = self._positions.get(job_id)
        if position is None:
            return
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._rows[position]
        self._reindex()
        self.endRemoveRows()

    def _reindex(self, start: int = 0) -> None:
        if start == 0:
            self._positions = {}
        for position in range(start, len(self._rows)):
            self._positions[self._rows[position].job.id] = position


class JobFilter(QSortFilterProxyModel):
    """Filters the table by status, model and free text; sorts by typed keys."""

    def __init__(self) -> None:
        super().__init__()
        self.status = ""
        self.model_kind = ""
        self.text = ""
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filters(self, status: str, model_kind: str, text: str) -> None:
        self.beginFilterChange()
        self.status, self.model_kind, self.text = status, model_kind, text.lower()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        job = self.sourceModel().job_at(source_row)  # type: ignore[attr-defined]
        if self.status and job.status != self.status:
            return False
        if self.model_kind and job.model != self.model_kind:
            return False
        if not self.text:
            return True
        haystack = f"{job.id} {job.name} {job.dataset} {job.worker or ''}".lower()
        return self.text in haystack

    def lessThan(self, left: Index, right: Index) -> bool:  # noqa: N802
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:
            return str(a) < str(b)
