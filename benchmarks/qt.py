"""Qt helpers for the app's rows: an offscreen application, waiting, stall watching."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

# Set before the first Qt import, so no display is needed.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

HEARTBEAT_MS = 5
CHECK_MS = 5


def application() -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    return QApplication([])


def spin_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Run Qt's event loop until `condition` holds; RuntimeError after `timeout` s.

    The loop sleeps until the next event and looks at the condition every
    CHECK_MS, so waiting costs the UI thread almost no CPU time, and the rows that
    time the UI thread's CPU count the work waited for, not the waiting.
    """
    if condition():
        return
    loop = QEventLoop()
    check = QTimer(interval=CHECK_MS)
    check.timeout.connect(lambda: condition() and loop.quit())
    deadline = QTimer(interval=round(timeout * 1000), singleShot=True)
    deadline.timeout.connect(loop.quit)
    check.start()
    deadline.start()
    loop.exec()
    check.stop()
    deadline.stop()
    if not condition():
        raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


def show(widget: QWidget) -> None:
    """Show a widget and wait until the platform has exposed it, so paints happen."""
    widget.show()

    def is_exposed() -> bool:
        handle = widget.windowHandle()
        return handle is not None and handle.isExposed()

    spin_until(is_exposed, 10, "the window to show")


def spin_for(seconds: float) -> None:
    """Run Qt's event loop for `seconds`, sleeping while no event comes."""
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


class StallWatch:
    """A timer on the UI thread that notes how late it fires: the UI's stalls.

    A stall is a gap between two firings beyond the timer's own interval, so it
    counts whatever kept the event loop from running, including the machine.
    """

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._on_timeout)

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def worst_ms(self) -> float:
        return max(self.gaps, default=0.0) * 1000

    def _on_timeout(self) -> None:
        now = time.perf_counter()
        self.gaps.append(max(0.0, now - self._last - HEARTBEAT_MS / 1000))
        self._last = now
