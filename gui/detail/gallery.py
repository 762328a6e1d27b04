"""The gallery tab: each epoch's sample grids, browsed by slider or arrow keys."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from shared.history import ImageView

logger = logging.getLogger(__name__)

TITLES = {"samples": "Samples", "reconstructions": "Reconstructions"}
ZOOMS = (1, 2, 4)
STEP_KEYS = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}


def load_pixmap(path: Path) -> QPixmap | None:
    """The image at ``path``, or None when it is gone or unreadable."""
    pixmap = QPixmap(str(path)) if path.is_file() else QPixmap()
    return None if pixmap.isNull() else pixmap


def scaled(pixmap: QPixmap, factor: int) -> QPixmap:
    """``pixmap`` enlarged by a whole ``factor`` with sharp pixels."""
    size = pixmap.size() * factor
    return pixmap.scaled(
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


class PixmapView(QWidget):
    """One image scaled to fit, sharp when enlarged; or a note that it is missing."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.message = ""
        self.setMinimumSize(160, 160)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def show_pixmap(self, pixmap: QPixmap | None, message: str = "") -> None:
        self._pixmap, self.message = pixmap, message
        self.setToolTip("" if pixmap is None else "Click to open at full size")
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def target_rect(self) -> QRect:
        """Where the image lands: as large as fits, keeping its aspect ratio."""
        assert self._pixmap is not None
        size = self._pixmap.size().scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio
        )
        # Top-aligned, so the image sits right under its title.
        left = (self.width() - size.width()) // 2
        return QRect(left, 0, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect().adjusted(8, 8, -8, -8), flags, self.message)
            return
        target = self.target_rect()
        # Enlarged grids stay crisp with nearest-neighbour; shrinking needs smoothing.
        is_shrunk = target.width() < self._pixmap.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, is_shrunk)
        painter.drawPixmap(target, self._pixmap)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._pixmap is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()


class ImageDialog(QDialog):
    """One image at full size, zoomed by 1, 2 or 4, in a scrollable view."""

    def __init__(self, pixmap: QPixmap, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._pixmap = pixmap
        self.setWindowTitle(title)
        self._image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidget(self._image)
        scroll.setWidgetResizable(True)
        self.zoom = QComboBox()
        self.zoom.addItems([f"×{factor}" for factor in ZOOMS])
        self.zoom.currentIndexChanged.connect(self._on_zoom_changed)
        row = QHBoxLayout()
        row.addWidget(QLabel("Zoom"))
        row.addWidget(self.zoom)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(scroll)
        # Start at the largest zoom that fits a common screen.
        fitting = [i for i, f in enumerate(ZOOMS) if pixmap.width() * f <= 1000]
        self.zoom.setCurrentIndex(fitting[-1] if fitting else 0)
        self._on_zoom_changed(self.zoom.currentIndex())
        shown = self._image.pixmap().size()
        self.resize(min(shown.width(), 1000) + 60, min(shown.height(), 800) + 80)

    def _on_zoom_changed(self, index: int) -> None:
        self._image.setPixmap(scaled(self._pixmap, ZOOMS[index]))


class ImagePanel(QWidget):
    """A titled image with its save button, for one image name."""

    save_requested = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.title = QLabel(TITLES.get(name, name.capitalize()))
        self.title.setStyleSheet("font-weight: 600;")
        self.view = PixmapView()
        self.save_button = QPushButton("Save PNG…")
        self.save_button.clicked.connect(self._on_save_clicked)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch()
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def show_image(self, image: ImageView | None) -> None:
        if image is None:
            pixmap, message = None, "No image for this epoch."
        else:
            pixmap, message = load_pixmap(image.path), f"image missing: {image.path}"
        self.view.show_pixmap(pixmap, message)
        self.save_button.setEnabled(pixmap is not None)

    def _on_save_clicked(self) -> None:
        self.save_requested.emit(self.name)


class Gallery(QWidget):
    """Sample grids by epoch; follows the newest epoch until the reader moves back."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._by_epoch: dict[int, dict[str, ImageView]] = {}
        self._epochs: list[int] = []
        self._total_epochs = 0
        self._shown: dict[str, ImageView] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._build()

    def _build(self) -> None:
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.setToolTip("Left/Right: previous/next epoch; Home/End: first/last")
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.epoch_label = QLabel()
        self.epoch_label.setMinimumWidth(110)
        self.panels: dict[str, ImagePanel] = {}
        self._images_row = QHBoxLayout()
        self._images_row.setSpacing(16)
        self.empty_label = QLabel(
            "No images yet: a training job's come at the end of each epoch, a "
            "generation job's when it is done."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #777;")
        controls = QHBoxLayout()
        controls.addWidget(self.epoch_label)
        controls.addWidget(self.slider, 1)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(controls)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(self._images_row, 1)
        self._show_empty(True)

    def clear(self) -> None:
        """Forget every image and panel, ready for another job."""
        for panel in self.panels.values():
            self._images_row.removeWidget(panel)
            panel.deleteLater()
        self.panels.clear()
        self._by_epoch, self._epochs, self._shown = {}, [], None
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self._show_empty(True)
        self._show_current()

    def epoch_count(self) -> int:
        return len(self._epochs)

    def current_epoch(self) -> int | None:
        """The epoch number shown, or None without images."""
        return self._epochs[self.slider.value()] if self._epochs else None

    def set_epoch(self, epoch: int) -> None:
        """Show ``epoch``, or the nearest earlier one that has images."""
        earlier = [i for i, e in enumerate(self._epochs) if e <= epoch]
        self.slider.setValue(earlier[-1] if earlier else 0)

    def is_following(self) -> bool:
        """Whether the newest epoch will be shown as it arrives."""
        return self.slider.value() == self.slider.maximum()

    def set_images(self, images: Iterable[ImageView], total_epochs: int = 0) -> None:
        """Show the job's complete list of images; keep the reader's place."""
        was_following = self.is_following()
        by_epoch: dict[int, dict[str, ImageView]] = {}
        for image in images:
            by_epoch.setdefault(image.epoch, {})[image.name] = image
        self._by_epoch, self._epochs = by_epoch, sorted(by_epoch)
        self._total_epochs = total_epochs
        self._ensure_panels()
        self.slider.blockSignals(True)
        self.slider.setMaximum(max(len(self._epochs) - 1, 0))
        if was_following:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self._show_empty(not self._epochs)
        # A generation job's images are not per epoch: nothing to move through.
        is_per_epoch = self._epochs != [0]
        self.slider.setVisible(is_per_epoch)
        self.epoch_label.setVisible(is_per_epoch)
        self._show_current()

    def _ensure_panels(self) -> None:
        names = {name for images in self._by_epoch.values() for name in images}
        for name in sorted(names - set(self.panels), key=lambda n: n != "samples"):
            panel = self.panels[name] = ImagePanel(name)
            panel.save_requested.connect(self._on_save_requested)
            panel.view.clicked.connect(lambda n=name: self._open_dialog(n))
            self._images_row.addWidget(panel, 1)

    def _show_empty(self, is_empty: bool) -> None:
        self.empty_label.setVisible(is_empty)
        self.slider.setEnabled(not is_empty)
        for panel in self.panels.values():
            panel.setVisible(not is_empty)

    def _show_current(self) -> None:
        epoch = self.current_epoch()
        images = self._by_epoch.get(epoch, {}) if epoch is not None else {}
        total = self._total_epochs or (self._epochs[-1] if self._epochs else 0)
        label = "Epoch — / —" if epoch is None else f"Epoch {epoch} / {total}"
        self.epoch_label.setText(label)
        if images == self._shown:
            return
        self._shown = dict(images)
        for name, panel in self.panels.items():
            panel.show_image(images.get(name))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if key in STEP_KEYS:
            self.slider.setValue(self.slider.value() + STEP_KEYS[key])
        elif key == Qt.Key.Key_Home:
            self.slider.setValue(0)
        elif key == Qt.Key.Key_End:
            self.slider.setValue(self.slider.maximum())
        else:
            super().keyPressEvent(event)

    def _on_slider_value_changed(self, _value: int) -> None:
        self._show_current()

    def current_image(self, name: str = "samples") -> ImageView | None:
        """The image ``name`` of the shown epoch, if there is one."""
        epoch = self.current_epoch()
        return None if epoch is None else self._by_epoch[epoch].get(name)

    def save_current_to(self, path: Path, name: str = "samples") -> None:
        """Copy the shown image's PNG to ``path`` byte for byte."""
        image = self.current_image(name)
        if image is None:
            raise FileNotFoundError(f"No {name} image is shown; pick an epoch first.")
        shutil.copyfile(image.path, path)
        logger.debug("saved %s of epoch %s to %s", name, image.epoch, path)

    def _on_save_requested(self, name: str) -> None:
        image = self.current_image(name)
        if image is None:
            return
        suggested = str(Path.home() / f"{name}_epoch{image.epoch:03d}.png")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save PNG", suggested, "PNG images (*.png)"
        )
        if not path:
            return
        try:
            self.save_current_to(Path(path), name)
        except OSError as exc:
            QMessageBox.warning(
                self, "Save PNG", f"Could not save {path}: {exc.strerror or exc}."
            )

    def _open_dialog(self, name: str) -> None:
        image = self.current_image(name)
        pixmap = None if image is None else load_pixmap(image.path)
        if image is None or pixmap is None:
            return
        title = f"{TITLES.get(name, name)} · epoch {image.epoch}"
        dialog = ImageDialog(pixmap, title, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
