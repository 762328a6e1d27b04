"""The desktop app's entry point.

For now the window says where things are and how to submit from the command line;
it does not yet list, chart or browse jobs.
"""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from shared.client import Client
from shared.settings import Settings, redact


def build_window(settings: Settings) -> QMainWindow:
    """The main window: for now, where things are and how to submit."""
    window = QMainWindow()
    window.setWindowTitle("genqueue")
    broker = (
        redact(settings.broker_url) if settings.broker_url else "the embedded Redis"
    )
    text = (
        "<h2>genqueue</h2>"
        f"<p>Broker: {broker}<br>History: {settings.db_path}</p>"
        "<p>Jobs run on the local worker. Submit from a terminal:<br>"
        "<code>genqueue submit train --model vae --dataset digits --epochs 5</code><br>"
        "and follow them with <code>genqueue jobs</code>.</p>"
    )
    label = QLabel(text)
    label.setObjectName("overview")
    label.setMargin(24)
    window.setCentralWidget(label)
    window.resize(640, 240)
    return window


def run_app(settings: Settings, client: Client) -> int:
    """Show the main window until it is closed; return Qt's exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    window = build_window(settings)
    window.show()
    # Qt's loop gives Python no chance to see Ctrl-C; a timer lets the handler run.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: app.quit())
    timer = QTimer()
    timer.start(200)
    timer.timeout.connect(lambda: None)
    return app.exec()
