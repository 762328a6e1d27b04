"""The desktop app's entry point: the window on the UI thread, the backend on its own.

Closing the window stops only the app: jobs on workers keep running, and their
events wait in Redis until the app (or the command line) reads them again.
"""

from __future__ import annotations

import logging
import signal
import sys

from PySide6.QtCore import Qt, QThread, QTimer
from PySide6.QtWidgets import QApplication

from gui.backend import Backend
from gui.main_window import MainWindow
from shared.settings import Settings

logger = logging.getLogger(__name__)


class App:
    """The window, the backend and the thread the backend runs on, wired together."""

    def __init__(self, settings: Settings) -> None:
        self.window = MainWindow(settings)
        self.backend = Backend(settings)
        self.thread = QThread()
        self.thread.setObjectName("genqueue-backend")
        self.backend.moveToThread(self.thread)
        self._connect()

    def _connect(self) -> None:
        window, backend = self.window, self.backend
        self.thread.started.connect(backend.start)
        for signal_name in (
            "jobs_reset",
            "jobs_appended",
            "jobs_changed",
            "job_removed",
            "job_ended",
            "broker_changed",
            "workers_changed",
            "submitted",
            "submit_failed",
            "action_failed",
            "test_result",
        ):
            getattr(backend, signal_name).connect(getattr(window, f"on_{signal_name}"))
        backend.detail_ready.connect(window.detail.show_detail)
        backend.detail_delta.connect(window.detail.apply_delta)
        # After the panel, which counts the shown job's finished epochs.
        backend.detail_ready.connect(window.on_detail_changed)
        backend.detail_delta.connect(window.on_detail_changed)
        window.select_requested.connect(backend.select)
        window.submit_requested.connect(backend.submit)
        window.cancel_requested.connect(backend.cancel)
        window.retry_requested.connect(backend.retry)
        window.delete_requested.connect(backend.delete)
        window.rename_requested.connect(backend.rename)
        window.more_requested.connect(backend.train_more)
        window.generate_requested.connect(backend.generate)
        window.test_requested.connect(backend.test_connection)

    def start(self) -> None:
        self.thread.start()
        self.window.show()

    def stop(self) -> None:
        """Stop the backend on its thread, then the thread; waits for both."""
        if not self.thread.isRunning():
            return
        # Direct: the UI thread is blocked in wait() below and could not take a
        # queued call; QThread.quit is safe to call from any thread.
        self.backend.stopped.connect(
            self.thread.quit, Qt.ConnectionType.DirectConnection
        )
        QTimer.singleShot(0, self.backend, self.backend.stop)
        if not self.thread.wait(10_000):
            logger.warning("the backend thread did not stop within 10 s")


def run_app(settings: Settings) -> int:
    """Show the app until its window is closed; return Qt's exit code."""
    qt_app = QApplication.instance() or QApplication(sys.argv)
    qt_app.setApplicationName("genqueue")
    app = App(settings)
    qt_app.aboutToQuit.connect(app.stop)
    # Qt's loop gives Python no chance to see Ctrl-C; a timer lets the handler run.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: qt_app.quit())
    app.start()
    timer = QTimer()
    timer.start(200)
    timer.timeout.connect(lambda: None)
    return qt_app.exec()
