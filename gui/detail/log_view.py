"""The log tab: state changes, log lines and errors of the shown job, oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QTextCharFormat,
    QTextCursor,
    QTextOption,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from gui.detail_model import LOG_TYPES
from shared.history import EventView

MAX_LINES = 10_000
TRACEBACK_INDENT = "        "
COLOURS = {"error": "#b00020", "warning": "#9a5b00"}
FAILED_STATES = frozenset({"failed", "interrupted"})


def _describe_state(payload: dict) -> str:
    status = payload.get("status", "?")
    text = f"state → {status}"
    if payload.get("worker"):
        text += f" on {payload['worker']}"
    if payload.get("device"):
        text += f" ({payload['device']})"
    if payload.get("error"):
        text += f": {payload['error']}"
    return text


def _describe_error(payload: dict) -> str:
    text = f"ERROR  {payload.get('message', '')}"
    trace = (payload.get("traceback") or "").rstrip()
    if trace:
        lines = (TRACEBACK_INDENT + line for line in trace.splitlines())
        text += "\n" + "\n".join(lines)
    return text


def format_event(event: EventView) -> str:
    """One event as log text: local time, kind, message; a traceback indented below."""
    clock = datetime.fromtimestamp(event.time).strftime("%H:%M:%S")
    payload = event.payload
    if event.type == "state":
        body = _describe_state(payload)
    elif event.type == "error":
        body = _describe_error(payload)
    else:
        level = str(payload.get("level", "info")).upper()
        body = f"{level:<7} {payload.get('message', '')}"
    return f"{clock}  {body}"


def severity(event: EventView) -> str:
    """``error``, ``warning`` or ``normal``: how loudly the event is shown."""
    payload = event.payload
    if event.type == "error" or payload.get("status") in FAILED_STATES:
        return "error"
    level = str(payload.get("level", "")).lower()
    if level in ("error", "critical"):
        return "error"
    return "warning" if level == "warning" else "normal"


def _char_format(colour: str | None) -> QTextCharFormat:
    char_format = QTextCharFormat()
    if colour is not None:
        char_format.setForeground(QColor(colour))
    return char_format


class LogView(QPlainTextEdit):
    """A read-only, capped list of the job's log events, appended as they arrive."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._last_id: int | None = None
        self._formats = {
            name: _char_format(COLOURS.get(name))
            for name in ("error", "warning", "normal")
        }
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        # Messages are sentences, often with a path in them: wrapped at the width,
        # anywhere within a word too long for a line, none needs scrolling sideways.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("No log entries yet.")

    def show_events(self, events: Iterable[EventView]) -> None:
        """Replace the text with ``events``."""
        self.clear()
        self._last_id = None
        self.append_events(events)

    def append_events(self, events: Iterable[EventView]) -> None:
        """Add events not shown yet; others, and non-log types, are skipped."""
        entries = []
        for event in events:
            if event.type not in LOG_TYPES:
                continue
            if self._last_id is not None and event.id <= self._last_id:
                continue
            self._last_id = event.id
            entries.append((format_event(event), severity(event)))
        if entries:
            self._append(entries)

    def _append(self, entries: list[tuple[str, str]]) -> None:
        bar = self.verticalScrollBar()
        is_at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        for text, level in entries:
            if not self.document().isEmpty():
                cursor.insertBlock()
            cursor.insertText(text, self._formats[level])
        cursor.endEditBlock()
        # Follow new lines only when the reader has not scrolled up to read.
        if is_at_bottom:
            bar.setValue(bar.maximum())
