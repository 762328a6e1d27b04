"""The main window: the history table, the selected job's details, the workers.

The window owns no data. It shows what the backend sends and turns clicks into
requests the backend carries out on its own thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import (
    QItemSelection,
    QSettings,
    QSignalBlocker,
    QSize,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QSystemTrayIcon,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gui.detail.panel import DetailPanel
from gui.forms.generate_dialog import GenerateDialog
from gui.forms.new_job import NewJobDialog
from gui.forms.settings_dialog import SettingsDialog
from gui.jobs_model import COLUMNS, JOB_ROLE, PROGRESS_COLUMN, JobFilter, JobTableModel
from gui.progress_delegate import ProgressDelegate
from gui.workers_panel import WorkersPanel
from shared.events import STATUSES, TERMINAL
from shared.history import JobView
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings, write_config
from shared.spec import MODEL_KINDS, TrainSpec

logger = logging.getLogger(__name__)

BROKER_TEXT = {
    "connected": "● connected",
    "reconnecting": "● reconnecting…",
    "unreachable": "● unreachable",
}
BROKER_COLOUR = {
    "connected": "#2f855a",
    "reconnecting": "#b7791f",
    "unreachable": "#c53030",
}


def first_size(wanted: QSize) -> QSize:
    """``wanted``, or less where the screen is smaller, so the whole window shows.

    A tenth of the screen's free height is left for the window's frame and title.
    """
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return wanted
    room = screen.availableGeometry().size()
    return wanted.boundedTo(QSize(room.width(), room.height() * 9 // 10))


class MainWindow(QMainWindow):
    """History on the left, details on the right, workers below."""

    select_requested = Signal(str)
    submit_requested = Signal(object)
    cancel_requested = Signal(str)
    retry_requested = Signal(str)
    delete_requested = Signal(str)
    rename_requested = Signal(str, str)
    more_requested = Signal(str, int)
    generate_requested = Signal(object)
    test_requested = Signal(str)

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.form_memory = QSettings(
            str(settings.home / "app.ini"), QSettings.Format.IniFormat
        )
        self.model = JobTableModel()
        self.form: NewJobDialog | None = None
        self.form_dialog: GenerateDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._build()

    # -- layout -----------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle("genqueue")
        self.table = self._build_table()
        self.detail = DetailPanel()
        self.detail.clear()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._with_filters(self.table))
        splitter.addWidget(self.detail)
        splitter.setSizes([940, 620])
        self.setCentralWidget(splitter)
        self.workers = WorkersPanel()
        dock = QDockWidget("Workers", self)
        dock.setObjectName("workers-dock")
        dock.setWidget(self.workers)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.workers_dock = dock
        self._build_actions()
        self._build_status_bar()
        self.resize(first_size(QSize(1560, 940)))

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSortingEnabled(True)
        table.sortByColumn(COLUMNS.index("submitted"), Qt.SortOrder.DescendingOrder)
        table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(24)
        # Fixed widths: sizing to contents would measure every row on each update.
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        widths = (72, 130, 70, 70, 150, 82, 110, 210, 90, 118, 64)
        for column, width in enumerate(widths):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(table))
        table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        table.doubleClicked.connect(lambda _: self._on_clone())
        return table

    def _with_filters(self, table: QTableView) -> QWidget:
        self.status_filter = QComboBox()
        self.status_filter.addItem("all statuses", "")
        for status in STATUSES:
            self.status_filter.addItem(status, status)
        self.model_filter = QComboBox()
        self.model_filter.addItem("all models", "")
        for kind in MODEL_KINDS:
            self.model_filter.addItem(kind, kind)
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by id, name, dataset or worker")
        self.text_filter.setClearButtonEnabled(True)
        for box in (self.status_filter, self.model_filter):
            box.currentIndexChanged.connect(self._on_filters_changed)
        self.text_filter.textChanged.connect(self._on_filters_changed)
        row = QHBoxLayout()
        row.addWidget(self.status_filter)
        row.addWidget(self.model_filter)
        row.addWidget(self.text_filter, 1)
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(table)
        return panel

    def _build_actions(self) -> None:
        toolbar = QToolBar("Actions")
        toolbar.setObjectName("actions")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(toolbar)
        specs = (
            ("new", "New training job…", QKeySequence.StandardKey.New, self._on_new),
            ("cancel", "Cancel", None, self._on_cancel),
            ("retry", "Retry", None, self._on_retry),
            ("clone", "Clone…", None, self._on_clone),
            ("more", "Train more…", None, self._on_more),
            ("generate", "Generate…", None, self._on_generate),
            ("rename", "Rename…", QKeySequence(Qt.Key.Key_F2), self._on_rename),
            ("delete", "Delete…", QKeySequence.StandardKey.Delete, self._on_delete),
            ("settings", "Settings…", None, self._on_settings),
        )
        self.actions_by_name: dict[str, QAction] = {}
        for name, text, shortcut, slot in specs:
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            toolbar.addAction(action)
            self.actions_by_name[name] = action
        self._update_actions(None)

    def _build_status_bar(self) -> None:
        self.broker_label = QLabel("● connecting…")
        self.workers_label = QLabel("workers: 0")
        self.jobs_label = QLabel("jobs: 0")
        bar = self.statusBar()
        bar.addPermanentWidget(self.jobs_label)
        bar.addPermanentWidget(self.workers_label)
        bar.addPermanentWidget(self.broker_label)
        self.tray = (
            QSystemTrayIcon(self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        )

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        # Docks take their height only once the window has its own.
        self.resizeDocks([self.workers_dock], [130], Qt.Orientation.Vertical)

    # -- from the backend -------------------------------------------------------

    @Slot(list)
    def on_jobs_reset(self, jobs: list[JobView]) -> None:
        self.model.reset(jobs)
        self._count_jobs()

    @Slot(list)
    def on_jobs_appended(self, jobs: list[JobView]) -> None:
        self.model.append(jobs)
        self._count_jobs()

    @Slot(list)
    def on_jobs_changed(self, jobs: list[JobView]) -> None:
        self.model.update(jobs)
        self._count_jobs()
        current = self.selected_job()
        if current is not None:
            self._update_actions(current)

    @Slot(str)
    def on_job_removed(self, job_id: str) -> None:
        if self.detail.job_id == job_id:
            self.detail.clear()
        self.model.remove(job_id)
        self._count_jobs()

    @Slot(object)
    def on_job_ended(self, job: JobView) -> None:
        text = f"Job {job.name or job.id[:8]} {job.status}."
        if job.error:
            text += f" {job.error}"
        self.statusBar().showMessage(text, 15_000)
        if self.tray is not None:
            self.tray.showMessage("genqueue", text)

    @Slot(str, str)
    def on_broker_changed(self, state: str, url: str) -> None:
        colour = BROKER_COLOUR.get(state, "#555")
        self.broker_label.setText(
            f"<span style='color:{colour}'>{BROKER_TEXT.get(state, state)}</span> {url}"
        )
        self.broker_label.setProperty("state", state)

    @Slot(list)
    def on_workers_changed(self, workers: list) -> None:
        self.workers.set_workers(workers)
        self.workers_label.setText(f"workers: {len(workers)}")

    @Slot(str)
    def on_submitted(self, job_id: str) -> None:
        for dialog in (self.form, self.form_dialog):
            if dialog is not None and dialog.isVisible():
                dialog.accept()
        self.statusBar().showMessage(f"Job {job_id[:8]} queued.", 10_000)

    @Slot(str)
    def on_submit_failed(self, message: str) -> None:
        if self.form_dialog is not None and self.form_dialog.isVisible():
            self.form_dialog.show_error(message)
            return
        if self.form is not None and self.form.isVisible():
            self.form.show_error(message)
        else:
            QMessageBox.warning(self, "Not submitted", message)

    @Slot(str)
    def on_action_failed(self, message: str) -> None:
        QMessageBox.warning(self, "genqueue", message)

    # -- user actions -----------------------------------------------------------

    def selected_job(self) -> JobView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return rows[0].data(JOB_ROLE)

    def select_job(self, job_id: str) -> None:
        """Select a job's row, as a click would."""
        row = self.model.row_of(job_id)
        if row is None:
            return
        self.table.selectRow(row)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, *_: object) -> None:
        job = self.selected_job()
        self._update_actions(job)
        if job is None:
            self.detail.clear()
        self.select_requested.emit(job.id if job else "")

    def _update_actions(self, job: JobView | None) -> None:
        active = job is not None and job.status not in TERMINAL
        retryable = job is not None and job.status in {
            "failed",
            "cancelled",
            "interrupted",
        }
        self.actions_by_name["cancel"].setEnabled(active)
        self.actions_by_name["retry"].setEnabled(retryable)
        resumable = (
            job is not None and job.status in TERMINAL and self._finished(job) >= 1
        )
        self.actions_by_name["more"].setEnabled(resumable)
        trained = resumable and job is not None and job.kind == "train"
        self.actions_by_name["generate"].setEnabled(trained)
        for name in ("clone", "rename", "delete"):
            self.actions_by_name[name].setEnabled(job is not None)

    def _finished(self, job: JobView) -> int:
        """Epochs the job finished: the details' count once loaded, else a guess.

        Until then, an ended job that did not succeed is taken to have finished
        the epochs before the one it was in.
        """
        shown = self.detail.finished_epochs(job.id)
        if shown is not None:
            return shown
        return job.epochs if job.status == "succeeded" else max(job.epoch - 1, 0)

    @Slot(object)
    def on_detail_changed(self, _detail: object) -> None:
        """The shown job's details arrived or grew: its epochs finished may differ."""
        self._update_actions(self.selected_job())

    @Slot()
    def _on_filters_changed(self) -> None:
        selected = self.selected_job()
        self.model.set_filter(
            JobFilter(
                self.status_filter.currentData(),
                self.model_filter.currentData(),
                self.text_filter.text(),
            )
        )
        # The model was reset, which clears the selection without a signal. A job
        # still shown is selected again quietly, so its details are not reloaded;
        # for one now hidden the detail panel and actions follow the empty selection.
        if selected is not None and self.model.row_of(selected.id) is not None:
            with QSignalBlocker(self.table.selectionModel()):
                self.select_job(selected.id)
        elif selected is not None:
            self._on_selection_changed()
        self._count_jobs()

    def _count_jobs(self) -> None:
        shown, total = self.model.rowCount(), self.model.job_count()
        self.jobs_label.setText(
            f"jobs: {shown}" if shown == total else f"jobs: {shown} of {total}"
        )

    @Slot()
    def _on_new(self) -> None:
        self.open_form(None)

    @Slot()
    def _on_clone(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.open_form(job.spec)

    def open_form(self, spec: dict | None) -> NewJobDialog:
        """Open the new-job form, filled from a spec when cloning."""
        self.form = NewJobDialog(self.form_memory, self)
        if spec is not None:
            self.form.prefill(spec)
        self.form.submit_requested.connect(self._on_form_submit)
        self.form.show()
        return self.form

    @Slot(object)
    def _on_form_submit(self, spec: TrainSpec) -> None:
        self.submit_requested.emit(spec)

    @Slot()
    def _on_cancel(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.cancel_requested.emit(job.id)

    @Slot()
    def _on_retry(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.retry_requested.emit(job.id)

    @Slot()
    def _on_more(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        epochs, ok = QInputDialog.getInt(
            self, "Train more", f"Epochs after the {job.epoch} done:", 5, 1, 10_000
        )
        if ok:
            self.more_requested.emit(job.id, epochs)

    @Slot()
    def _on_generate(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.open_generate(job)

    def open_generate(self, job: JobView) -> GenerateDialog:
        """Open the Generate dialog for a trained job."""
        dialog = GenerateDialog(job, self)
        dialog.submit_requested.connect(self.generate_requested)
        self.form_dialog = dialog
        dialog.show()
        return dialog

    @Slot()
    def _on_rename(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        name, ok = QInputDialog.getText(self, "Rename job", "Name:", text=job.name)
        if ok:
            self.rename_requested.emit(job.id, name.strip())

    @Slot()
    def _on_delete(self) -> None:
        job = self.selected_job()
        if job is None or not self.confirm_delete(job):
            return
        self.delete_requested.emit(job.id)

    def confirm_delete(self, job: JobView) -> bool:
        text = (
            f"Delete job {job.name or job.id[:8]} ({job.status}) and its local "
            "sample images? A queued or running job is cancelled first. "
            "The model files on the worker are kept."
        )
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        answer = QMessageBox.question(
            self, "Delete job", text, buttons, QMessageBox.StandardButton.No
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def _on_settings(self) -> None:
        dialog = SettingsDialog(self.settings.broker_url, self.settings.home, self)
        dialog.test_requested.connect(self.test_requested)
        self.settings_dialog = dialog
        if dialog.exec():
            self._save_settings(*dialog.values())

    def _save_settings(self, broker: str | None, home: Path) -> None:
        if EmbeddedRedis(self.settings.redis_dir).is_own_url(broker):
            # Saved as "the embedded one", so `genqueue up` keeps starting it.
            broker = None
        write_config(self.settings.home, broker_url=broker)
        text = "Broker saved; it takes effect when genqueue starts again."
        if home != self.settings.home:
            # The home holds the config file itself, so it is chosen from outside.
            text += f" To use {home} as the home directory, start with GENQUEUE_HOME={home}."
        QMessageBox.information(self, "Settings", text)

    @Slot(bool, str)
    def on_test_result(self, ok: bool, text: str) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.show_test_result(ok, text)
