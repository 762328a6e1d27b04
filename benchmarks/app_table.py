"""The history table with 10,000 and 100,000 jobs: first paint, scrolling, one update.

genqueue's side is the real app offscreen: its backend thread pages the history
out of SQLite and the window's table (gui/jobs_model.py, which sorts and filters
itself) shows it. The baseline is a QTableView of the same
size over a plain in-memory model of the same rows' texts, built before the clock
starts.

First paint runs from starting the app (or setting the model) to the end of the
first synchronous paint of rows, in wall-clock time. A scroll frame moves down a
page and repaints the viewport. A one-row update hands the window one changed job,
as the backend does, and lets Qt paint what changed. Frames and updates are timed
in the UI thread's CPU time, which other processes on a busy machine do not
inflate; their wall-clock medians are in the details.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtWidgets import QTableView
from sqlalchemy import insert

from benchmarks.qt import StallWatch, application, show, spin_until
from benchmarks.report import Row, no_target, under
from gui.app import App
from gui.jobs_model import COLUMNS
from shared.history import HistoryStore, JobView
from shared.history.models import Job
from shared.settings import Settings

SCROLL_FRAMES = 60
UPDATES = 60
# Updates go to the first rows on screen, so each one is painted.
VISIBLE = 20
STATUSES = ("succeeded", "failed", "cancelled", "succeeded", "succeeded")
Index = QModelIndex | QPersistentModelIndex


def fill_history(settings: Settings, count: int) -> None:
    """Write `count` finished jobs into the settings' history in a few statements."""
    now = datetime.now(UTC)
    rows = []
    for index in range(count):
        submitted = now - timedelta(minutes=count - index)
        model = ("vae", "dcgan", "gan")[index % 3]
        spec = {
            "model": model,
            "dataset": "digits",
            "epochs": 5,
            "name": f"job {index}",
        }
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "name": f"job {index}",
                "kind": "train",
                "model": model,
                "dataset": "/data/mnist/t10k-images-idx3-ubyte.gz",
                "spec": spec,
                "status": STATUSES[index % len(STATUSES)],
                "submitted_at": submitted,
                "started_at": submitted + timedelta(seconds=2),
                "finished_at": submitted + timedelta(seconds=50),
                "updated_at": submitted + timedelta(seconds=50),
                "epoch": 5,
                "epochs": 5,
                "step": 395,
                "steps_per_epoch": 79,
                "latest": {"loss": 100.0 + index % 50, "kl": 20.5},
                "worker": "gpu-1@box",
                "device": "cpu",
            }
        )
    with HistoryStore.open(settings.db_path) as store, store.engine.begin() as db:
        for start in range(0, count, 10_000):
            db.execute(insert(Job), rows[start : start + 10_000])


class PlainModel(QAbstractTableModel):
    """The least a Python table model can be: a list of text tuples."""

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        super().__init__()
        self.rows = rows

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[index.row()][index.column()]
        return None

    def replace(self, row: int, texts: tuple[str, ...]) -> None:
        self.rows[row] = texts
        last = self.index(row, len(COLUMNS) - 1)
        self.dataChanged.emit(self.index(row, 0), last)


def texts(job: JobView) -> tuple[str, ...]:
    return (
        job.id[:8],
        job.name,
        job.kind,
        job.model,
        job.dataset,
        job.status,
        f"{job.step}",
        str(job.latest),
        job.worker or "",
        job.submitted_at.isoformat(),
        "0:48",
    )


class Stopwatch:
    """A frame's UI-thread CPU time and wall-clock time, in milliseconds."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.wall: list[float] = []

    def __enter__(self) -> Stopwatch:
        self._cpu, self._wall = time.thread_time(), time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.cpu.append((time.thread_time() - self._cpu) * 1000)
        self.wall.append((time.perf_counter() - self._wall) * 1000)


def scroll_frames(view: QTableView) -> Stopwatch:
    """Each page down and a whole repaint of the viewport."""
    bar = view.verticalScrollBar()
    bar.setValue(0)
    watch = Stopwatch()
    for _ in range(SCROLL_FRAMES):
        with watch:
            bar.setValue(bar.value() + bar.pageStep())
            view.viewport().repaint()
    return watch


def _first_paint(view: QTableView) -> float:
    view.viewport().repaint()
    return time.perf_counter()


@dataclass
class Measured:
    """One side's figures, in milliseconds."""

    first_paint: float
    scroll: Stopwatch
    updates: Stopwatch


@dataclass
class AppLoad:
    """How the app took in the whole history, and the size of its table."""

    all_in_s: float
    worst_stall_ms: float
    size: QSize


def measure_app(settings: Settings, count: int) -> tuple[Measured, AppLoad]:
    """The real app's figures, and how its history loaded."""
    app = App(settings)
    # The app's own size on a large screen, whatever screen offscreen Qt reports.
    app.window.resize(1560, 940)
    table, model = app.window.table, app.window.model
    watch = StallWatch()
    started = time.perf_counter()
    app.start()
    try:
        spin_until(lambda: model.rowCount() > 0, 120, "the first page")
        first = (_first_paint(table) - started) * 1000
        watch.start()
        spin_until(lambda: model.rowCount() == count, 600, "every row")
        load = AppLoad(time.perf_counter() - started, 0.0, table.size())
        watch.stop()
        load.worst_stall_ms = watch.worst_ms()
        scroll = scroll_frames(table)
        updates = Stopwatch()
        for row in range(UPDATES):
            _update_app(app, row, updates)
    finally:
        app.stop()
        app.window.close()
    return Measured(first, scroll, updates), load


def _update_app(app: App, position: int, watch: Stopwatch) -> None:
    """Change the latest losses of a row on screen, as a running job's would."""
    window = app.window
    job = window.model.job_at(window.table.rowAt(0) + position % VISIBLE)
    latest = {"loss": 90.0 + position, "kl": 20.0}
    changed = dataclasses.replace(job, latest=latest, updated_at=datetime.now(UTC))
    with watch:
        window.on_jobs_changed([changed])
        QCoreApplication.processEvents()


def measure_plain(jobs: list[JobView], size: QSize) -> Measured:
    rows = [texts(job) for job in jobs]
    view = QTableView()
    view.verticalHeader().setVisible(False)
    view.setAlternatingRowColors(True)
    view.resize(size)
    show(view)
    model = PlainModel(rows)
    started = time.perf_counter()
    view.setModel(model)
    first = (_first_paint(view) - started) * 1000
    scroll = scroll_frames(view)
    updates = Stopwatch()
    for position in range(UPDATES):
        changed = view.rowAt(0) + position % VISIBLE
        with updates:
            new_texts = (*rows[changed][:7], "loss=90", *rows[changed][8:])
            model.replace(changed, new_texts)
            QCoreApplication.processEvents()
    view.close()
    return Measured(first, scroll, updates)


def _spread(watch: Stopwatch) -> dict[str, float]:
    cpu = sorted(watch.cpu)
    return {
        "p95_ms": cpu[int(0.95 * len(cpu))],
        "wall_median_ms": statistics.median(watch.wall),
    }


def rows(settings: Settings, count: int) -> list[Row]:
    """Three rows for one history size: first paint, scroll frame, one-row update."""
    application()
    fill_history(settings, count)
    ours, load = measure_app(settings, count)
    with HistoryStore.open(settings.db_path) as store:
        jobs = store.list_jobs()
    theirs = measure_plain(jobs, load.size)
    label = f"{count:,} jobs"
    baseline_is = "a QTableView of the same size over a plain in-memory model"
    return [
        Row(
            key=f"table_{count}_first_paint",
            what=f"history table, {label}: first paint",
            unit="ms",
            genqueue=ours.first_paint,
            baseline=theirs.first_paint,
            baseline_is=baseline_is + " (rows already in memory)",
            target=no_target(),
            note="genqueue's from starting the app, with its first page read from "
            "SQLite",
            details={
                "all_rows_in_s": load.all_in_s,
                "worst_stall_loading_ms": load.worst_stall_ms,
            },
        ),
        Row(
            key=f"table_{count}_scroll",
            what=f"history table, {label}: scroll repaint",
            unit="ms/frame",
            genqueue=statistics.median(ours.scroll.cpu),
            baseline=statistics.median(theirs.scroll.cpu),
            baseline_is=baseline_is,
            target=under(16, "ms"),
            note=f"UI-thread CPU time, median of {SCROLL_FRAMES} page-down frames",
            details=_spread(ours.scroll),
        ),
        Row(
            key=f"table_{count}_update",
            what=f"history table, {label}: one-row update",
            unit="ms",
            genqueue=statistics.median(ours.updates.cpu),
            baseline=statistics.median(theirs.updates.cpu),
            baseline_is=baseline_is,
            target=under(2, "ms"),
            note=f"UI-thread CPU time, median of {UPDATES} updates of a visible row, "
            "painted",
            details=_spread(ours.updates),
        ),
    ]
