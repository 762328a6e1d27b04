"""Dialogs that ask a person for values, and the one way they mark a refused value.

A refused field gets a red border (the ``invalid`` dynamic property, matched by
`FORM_STYLE`) and a red note under it that says what is allowed; `grow_to_fit` keeps
a long, wrapped note from being clipped.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QWidget

ERROR_COLOUR = "#c62828"
OK_COLOUR = "#2e7d32"

FORM_STYLE = f"""
QLineEdit[invalid="true"], QComboBox[invalid="true"] {{
    border: 1px solid {ERROR_COLOUR};
    border-radius: 2px;
    padding: 2px;
}}
QLabel[note="error"] {{ color: {ERROR_COLOUR}; }}
QLabel[note="ok"] {{ color: {OK_COLOUR}; }}
QLabel[note="hint"] {{ color: palette(placeholder-text); }}
QToolButton#disclosure {{ border: none; padding: 2px 0; }}
"""


def set_invalid(widget: QWidget, is_invalid: bool) -> None:
    """Mark or unmark a field; Qt re-reads a style sheet only when re-polished."""
    if widget.property("invalid") == is_invalid:
        return
    widget.setProperty("invalid", is_invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def note_label() -> QLabel:
    """A small, word-wrapped label for the note under a field; hidden until used."""
    label = QLabel()
    label.setWordWrap(True)
    label.setVisible(False)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    return label


def show_note(label: QLabel, text: str, kind: str = "error") -> None:
    """Show `text` in a note label styled as ``error``, ``ok`` or ``hint``."""
    label.setText(text)
    label.setVisible(bool(text))
    if label.property("note") != kind:
        label.setProperty("note", kind)
        label.style().unpolish(label)
        label.style().polish(label)


def grow_to_fit(dialog: QDialog) -> None:
    """Make the dialog tall enough for its wrapped notes.

    A window's layout is sized by minimum sizes, which ignore how tall wrapped text
    becomes at the current width, so without this a long note would be clipped.
    """
    # Nested layouts keep their old sizes until Qt's next pass; drop those caches so
    # the new note heights count now.
    for child in dialog.findChildren(QWidget):
        if (layout := child.layout()) is not None:
            layout.invalidate()
            child.updateGeometry()
    if (own := dialog.layout()) is not None:
        own.invalidate()
        own.activate()
    needed = dialog.heightForWidth(dialog.width())
    if needed > dialog.height():
        dialog.resize(dialog.width(), needed)
