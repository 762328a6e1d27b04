"""The detail panel: one job's overview, charts, gallery and log in tabs."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from gui.detail.charts import LossCharts
from gui.detail.gallery import Gallery
from gui.detail.log_view import LogView
from gui.detail.overview import JobOverview
from gui.detail_model import DetailDelta, JobDetail

logger = logging.getLogger(__name__)

PLACEHOLDER = "Select a job to see its progress, losses and samples."


class DetailPanel(QWidget):
    """Everything about the selected job; a calm placeholder when none is selected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._job_id: str | None = None
        self._finished_epochs = 0
        self.overview = JobOverview()
        self.charts = LossCharts()
        self.gallery = Gallery()
        self.log_view = LogView()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for widget, title in (
            (self.overview, "Overview"),
            (self.charts, "Charts"),
            (self.gallery, "Gallery"),
            (self.log_view, "Log"),
        ):
            self.tabs.addTab(widget, title)
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #777; font-size: 12pt;")
        self._stack = QStackedWidget()
        self._stack.addWidget(self.placeholder)
        self._stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)

    @property
    def job_id(self) -> str | None:
        """The id of the job shown, or None when none is."""
        return self._job_id

    def finished_epochs(self, job_id: str) -> int | None:
        """How many epochs the shown job has finished; None for a job not shown."""
        return self._finished_epochs if job_id == self._job_id else None

    def is_placeholder_shown(self) -> bool:
        return self._stack.currentWidget() is self.placeholder

    def show_detail(self, detail: JobDetail) -> None:
        """Replace everything with ``detail``."""
        job = detail.job
        self._job_id = job.id
        self._finished_epochs = len(detail.epoch_means)
        self._enable_charts(job.kind == "train")
        self.overview.show_job(job)
        self.charts.clear()
        self.charts.append(detail.metrics)
        self.charts.set_epoch_means(detail.epoch_means)
        self.gallery.clear()
        self.gallery.set_images(detail.images, job.epochs)
        self.log_view.show_events(detail.logs)
        self._stack.setCurrentWidget(self.tabs)

    def apply_delta(self, delta: DetailDelta) -> None:
        """Add what changed for the shown job; a delta for another job is ignored."""
        job = delta.job
        if job.id != self._job_id:
            logger.debug(
                "ignored a delta for job %s while %s is shown", job.id, self._job_id
            )
            return
        self.overview.show_job(job)
        self._finished_epochs = len(delta.epoch_means)
        if delta.reset:
            self.charts.clear()
        self.charts.append(delta.metrics)
        self.charts.set_epoch_means(delta.epoch_means)
        self.gallery.set_images(delta.images, job.epochs)
        self.log_view.append_events(delta.logs)

    def _enable_charts(self, is_enabled: bool) -> None:
        """Offer the charts tab only to a training job: a generation job has no losses."""
        index = self.tabs.indexOf(self.charts)
        self.tabs.setTabEnabled(index, is_enabled)
        tip = (
            ""
            if is_enabled
            else "A generation job trains nothing, so it has no losses."
        )
        self.tabs.setTabToolTip(index, tip)
        if not is_enabled and self.tabs.currentIndex() == index:
            self.tabs.setCurrentWidget(self.gallery)

    def clear(self) -> None:
        """Show the placeholder: no job is selected."""
        self._job_id = None
        self.charts.clear()
        self.gallery.clear()
        self.log_view.show_events([])
        self._stack.setCurrentWidget(self.placeholder)
