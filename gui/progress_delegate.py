"""Draws a job's progress as a bar inside its table cell."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from gui.jobs_model import PROGRESS_ROLE


class ProgressDelegate(QStyledItemDelegate):
    """A flat progress bar with the cell's text (percent and epoch) on it.

    Drawn with a few painter calls rather than the style's progress bar, which
    took a fifth of a whole table's repaint.
    """

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        fraction = min(max(float(index.data(PROGRESS_ROLE) or 0.0), 0.0), 1.0)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        bar = option.rect.adjusted(2, 3, -3, -4)
        filled = QRect(bar.x(), bar.y(), round(bar.width() * fraction), bar.height())
        palette = option.palette
        fill = palette.highlight().color()
        if option.state & QStyle.StateFlag.State_Selected:
            # A selected row is the highlight colour too: a darker fill keeps
            # the bar apart from the row around it.
            fill = fill.darker(150)
        painter.save()
        painter.setPen(palette.mid().color())
        painter.setBrush(palette.base())
        painter.drawRect(bar)
        painter.fillRect(filled, fill)
        painter.setPen(palette.text().color())
        painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, text)
        # Over the filled part the text takes the highlight's own text colour.
        painter.setClipRect(filled)
        painter.setPen(palette.highlightedText().color())
        painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()
