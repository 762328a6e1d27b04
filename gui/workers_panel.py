"""The workers online: a table of their latest announcements, or a line saying none.

The window fetches the list off the UI thread and hands it to `set_workers`; the
panel only ages the heartbeat column once a second, without fetching.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from shared.workers import WorkerInfo

HEADERS = ("Worker", "Queue", "Device", "Current job", "Last heartbeat")
HEARTBEAT_COLUMN = 4
EMPTY_TEXT = "No workers online. Start one with `genqueue worker`."

Index = QModelIndex | QPersistentModelIndex


def ago(seconds: float) -> str:
    """A short age for people: '3 s ago', '4 min ago', '2 h ago'."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


class WorkersModel(QAbstractTableModel):
    """One row per worker, in the order the window hands them over."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._workers: list[WorkerInfo] = []
        self._clock = clock

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._workers)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = 0
    ) -> Any:
        is_top = orientation == Qt.Orientation.Horizontal
        if is_top and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(self._workers[index.row()], index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 3:
            return self._workers[index.row()].current_job or None
        return None

    def set_workers(self, workers: list[WorkerInfo]) -> None:
        """Show `workers`; rows change in place when the same workers are online."""
        names = [worker.hostname for worker in workers]
        if names != [worker.hostname for worker in self._workers]:
            self.beginResetModel()
            self._workers = list(workers)
            self.endResetModel()
            return
        old, self._workers = self._workers, list(workers)
        last = len(HEADERS) - 1
        for row, (before, after) in enumerate(zip(old, workers, strict=True)):
            if before != after:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    def age_heartbeats(self) -> None:
        """Say that the heartbeat column's text has aged; nothing is fetched."""
        if self._workers:
            top = self.index(0, HEARTBEAT_COLUMN)
            bottom = self.index(len(self._workers) - 1, HEARTBEAT_COLUMN)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole])

    def _text(self, worker: WorkerInfo, column: int) -> str:
        if column == 0:
            return worker.hostname
        if column == 1:
            return worker.queue
        if column == 2:
            return worker.device
        if column == 3:
            return worker.current_job[:8] or "idle"
        return ago(self._clock() - worker.heartbeat)


class WorkersPanel(QWidget):
    """The workers table, with a plain line in its place when no worker is online."""

    def __init__(
        self, parent: QWidget | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self.model = WorkersModel(clock)
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()
        self._show_empty_state()

    def sizeHint(self) -> QSize:  # noqa: N802
        # A few rows are enough; the history above deserves the height.
        return QSize(800, 120)

    def set_workers(self, workers: list[WorkerInfo]) -> None:
        """Show the latest list of workers."""
        self.model.set_workers(workers)
        self._show_empty_state()

    def _build(self) -> None:
        self._table = QTableView()
        self._table.setModel(self.model)
        self._table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self._table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        rows = self._table.verticalHeader()
        rows.setVisible(False)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self._empty = QLabel(EMPTY_TEXT)
        self._empty.setObjectName("emptyState")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._table)
        layout.addWidget(self._empty)

    def _show_empty_state(self) -> None:
        is_empty = self.model.rowCount() == 0
        self._empty.setVisible(is_empty)
        self._table.setVisible(not is_empty)

    def _on_timer_timeout(self) -> None:
        self.model.age_heartbeats()
