"""The history table: a Qt model over job rows the backend loads, and its filter.

Display strings and sort keys are worked out once when a row arrives, so ``data()``
is a lookup: a view repaints 10,000 or 100,000 rows as fast as it repaints ten. The
model sorts and filters itself, with Python's sort on those keys and the rows the
filter hides set aside. A sort proxy would call back into Python for every
comparison, seconds for 100,000 rows, and any proxy between view and model costs
about a third of every repaint, since each cell's index and data pass through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor

from shared.display import (
    dataset_label,
    format_losses,
    progress_cell,
    progress_fraction,
)
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
            dataset_label(job.dataset),
            job.status,
            progress_cell(job, progress),
            format_losses(job.latest),
            job.worker or "",
            submitted,
            _format_duration(duration.total_seconds()) if duration else "",
        )
        seconds = duration.total_seconds() if duration else -1.0
        keys = (*texts[:6], progress, texts[7], texts[8], job.submitted_at, seconds)
        return cls(job, texts, keys, progress)


def _tooltip(job: JobView, column: int) -> str | None:
    if column == DATASET_COLUMN:
        return job.dataset
    return job.error


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class JobFilter:
    """Which jobs the table shows: by status, model kind and free text."""

    status: str = ""
    model_kind: str = ""
    text: str = ""

    def accepts(self, job: JobView) -> bool:
        if self.status and job.status != self.status:
            return False
        if self.model_kind and job.model != self.model_kind:
            return False
        if not self.text:
            return True
        haystack = f"{job.id} {job.name} {job.dataset} {job.worker or ''}".lower()
        return self.text.lower() in haystack


class JobTableModel(QAbstractTableModel):
    """The jobs the filter lets through, one row per job, in the order `sort` asked for.

    Unsorted, rows keep the order they were loaded in and new jobs go on top; the
    rows a filter change shows again go below the others.
    """

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[Row] = []
        self._positions: dict[str, int] = {}
        # Rows the filter hides, by job id, kept up to date for when it changes.
        self._hidden: dict[str, Row] = {}
        self._filter = JobFilter()
        self._sort_column = -1
        self._descending = False

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
        """The row showing the job; None if the model does not hold it or hides it."""
        return self._positions.get(job_id)

    def job_count(self) -> int:
        """Every job the model holds, shown or hidden by the filter."""
        return len(self._rows) + len(self._hidden)

    def set_filter(self, new: JobFilter) -> None:
        """Show only the jobs ``new`` accepts; the view is reset, selection and all."""
        if new == self._filter:
            return
        self.beginResetModel()
        self._filter = new
        rows = [*self._rows, *self._hidden.values()]
        self._hidden = {}
        self._rows = self._shown(rows)
        self._sort_rows()
        self._reindex()
        self.endResetModel()

    def _shown(self, rows: list[Row]) -> list[Row]:
        """The rows the filter accepts; the others go to the hidden ones."""
        shown = []
        for row in rows:
            if self._filter.accepts(row.job):
                shown.append(row)
            else:
                self._hidden[row.job.id] = row
        return shown

    def sort(
        self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder
    ) -> None:
        """Order the rows by one column's typed keys; selections follow their rows."""
        self._sort_column = column
        self._descending = order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        kept = self.persistentIndexList()
        ids = [self._rows[index.row()].job.id for index in kept]
        self._sort_rows()
        self._reindex()
        moved = [
            self.index(self._positions[job_id], index.column())
            for job_id, index in zip(ids, kept, strict=True)
        ]
        self.changePersistentIndexList(kept, moved)
        self.layoutChanged.emit()

    def reset(self, jobs: list[JobView]) -> None:
        self.beginResetModel()
        self._hidden = {}
        self._rows = self._shown([Row.of(job) for job in jobs])
        self._sort_rows()
        self._reindex()
        self.endResetModel()

    def append(self, jobs: list[JobView]) -> None:
        """Add rows below the others; sorted, they are then sorted into place."""
        rows = self._shown([Row.of(job) for job in jobs])
        if not rows:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self._reindex(start)
        self.endInsertRows()
        # Pages of the history arrive newest first, the order the table opens in,
        # so this costs a look at each key and no sort.
        if not self._is_in_order(max(start - 1, 0)):
            self.sort(self._sort_column, self._order())

    def update(self, jobs: list[JobView]) -> None:
        """Replace known rows in place and add new jobs where the order puts them.

        A changed row whose sort key changed moves to its new place; one the
        filter no longer accepts is hidden, and a hidden one it now accepts shown.
        """
        for job in jobs:
            position = self._positions.get(job.id)
            row = Row.of(job)
            if not self._filter.accepts(job):
                self._hidden[job.id] = row
                if position is not None:
                    self._remove_row(position)
                continue
            self._hidden.pop(job.id, None)
            if position is None:
                self._insert(row)
                continue
            self._rows[position] = row
            last = self.index(position, len(COLUMNS) - 1)
            self.dataChanged.emit(self.index(position, 0), last)
            self._move_into_place(position)

    def _insert(self, row: Row) -> None:
        position = self._place_for(row) if self._sort_column >= 0 else 0
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, row)
        self._reindex(position)
        self.endInsertRows()

    def _move_into_place(self, position: int) -> None:
        """Move a changed row to where the order now puts it, if that is elsewhere."""
        if self._is_in_order(max(position - 1, 0), position + 2):
            return
        row = self._rows.pop(position)
        target = self._place_for(row)
        self._rows.insert(position, row)
        if target == position:
            return
        # Qt names the destination as a row of the list before the move.
        destination = target if target < position else target + 1
        self.beginMoveRows(
            QModelIndex(), position, position, QModelIndex(), destination
        )
        self._rows.insert(target, self._rows.pop(position))
        self._reindex(min(position, target), max(position, target) + 1)
        self.endMoveRows()

    def _place_for(self, row: Row) -> int:
        """Where `row` goes among the other rows: before the first that follows it."""
        key = self._key(row)
        low, high = 0, len(self._rows)
        while low < high:
            middle = (low + high) // 2
            if self._follows(self._key(self._rows[middle]), key):
                high = middle
            else:
                low = middle + 1
        return low

    def _follows(self, key: Any, other: Any) -> bool:
        """Whether a row with `key` comes after one with `other` in this order."""
        return bool(key < other) if self._descending else bool(key > other)

    def _is_in_order(self, start: int, stop: int | None = None) -> bool:
        if self._sort_column < 0:
            return True
        keys = [self._key(row) for row in self._rows[start:stop]]
        return not any(
            self._follows(a, b) for a, b in zip(keys, keys[1:], strict=False)
        )

    def _key(self, row: Row) -> Any:
        return row.keys[self._sort_column]

    def _order(self) -> Qt.SortOrder:
        if self._descending:
            return Qt.SortOrder.DescendingOrder
        return Qt.SortOrder.AscendingOrder

    def _sort_rows(self) -> None:
        if self._sort_column >= 0:
            self._rows.sort(key=self._key, reverse=self._descending)

    def remove(self, job_id: str) -> None:
        self._hidden.pop(job_id, None)
        position = self._positions.get(job_id)
        if position is not None:
            self._remove_row(position)

    def _remove_row(self, position: int) -> None:
        self.beginRemoveRows(QModelIndex(), position, position)
        self._positions.pop(self._rows.pop(position).job.id, None)
        self._reindex(position)
        self.endRemoveRows()

    def _reindex(self, start: int = 0, stop: int | None = None) -> None:
        if start == 0 and stop is None:
            self._positions = {}
        for position in range(start, len(self._rows) if stop is None else stop):
            self._positions[self._rows[position].job.id] = position
