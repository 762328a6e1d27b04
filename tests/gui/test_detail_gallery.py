"""The gallery browses epochs by slider and keys, follows new ones, saves exact copies."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialog  # noqa: E402

from gui.detail.gallery import Gallery  # noqa: E402
from tests.gui.test_detail_factories import make_images  # noqa: E402


@pytest.fixture
def gallery(qtbot) -> Gallery:
    widget = Gallery()
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    return widget


def test_three_epochs_set_the_slider_and_show_the_newest(gallery, tmp_path) -> None:
    gallery.set_images(make_images(tmp_path, 3), total_epochs=5)

    assert gallery.epoch_count() == 3
    assert gallery.slider.maximum() == 2
    assert gallery.current_epoch() == 3
    assert gallery.epoch_label.text() == "Epoch 3 / 5"


def test_arrow_and_home_end_keys_move_between_epochs(qtbot, gallery, tmp_path) -> None:
    gallery.set_images(make_images(tmp_path, 3))
    gallery.setFocus()

    qtbot.keyClick(gallery, Qt.Key.Key_Left)
    assert gallery.current_epoch() == 2
    qtbot.keyClick(gallery, Qt.Key.Key_Home)
    assert gallery.current_epoch() == 1
    qtbot.keyClick(gallery, Qt.Key.Key_Right)
    assert gallery.current_epoch() == 2
    qtbot.keyClick(gallery, Qt.Key.Key_End)
    assert gallery.current_epoch() == 3


def test_a_new_epoch_is_shown_while_the_reader_stays_at_the_newest(
    gallery, tmp_path
) -> None:
    images = make_images(tmp_path, 3)
    gallery.set_images(images[:2])

    gallery.set_images(images)

    assert gallery.current_epoch() == 3


def test_a_new_epoch_leaves_a_reader_who_moved_back_in_place(gallery, tmp_path) -> None:
    images = make_images(tmp_path, 3)
    gallery.set_images(images[:2])
    gallery.set_epoch(1)

    gallery.set_images(images)

    assert gallery.current_epoch() == 1
    assert gallery.slider.maximum() == 2


def test_save_current_to_writes_a_byte_identical_copy(gallery, tmp_path) -> None:
    images = make_images(tmp_path, 3, names=("samples", "reconstructions"))
    gallery.set_images(images)
    gallery.set_epoch(2)
    target = tmp_path / "saved.png"

    gallery.save_current_to(target, "reconstructions")

    source = tmp_path / "reconstructions_epoch002.png"
    assert target.read_bytes() == source.read_bytes()


def test_vae_images_get_a_samples_and_a_reconstructions_panel(
    gallery, tmp_path
) -> None:
    gallery.set_images(make_images(tmp_path, 1, names=("samples", "reconstructions")))

    titles = [panel.title.text() for panel in gallery.panels.values()]
    assert titles == ["Samples", "Reconstructions"]


def test_a_missing_image_file_shows_its_path_instead(gallery, tmp_path) -> None:
    images = make_images(tmp_path, 1)
    images[0].path.unlink()

    gallery.set_images(images)

    panel = gallery.panels["samples"]
    assert panel.view.message == f"image missing: {images[0].path}"
    assert not panel.save_button.isEnabled()


def test_clear_forgets_the_images_and_follows_again(gallery, tmp_path) -> None:
    images = make_images(tmp_path, 3)
    gallery.set_images(images)
    gallery.set_epoch(1)

    gallery.clear()
    gallery.set_images(images)

    assert gallery.current_epoch() == 3


def test_clicking_an_image_opens_it_enlarged_with_sharp_pixels(
    qtbot, gallery, tmp_path
) -> None:
    gallery.set_images(make_images(tmp_path, 1))

    qtbot.mouseClick(gallery.panels["samples"].view, Qt.MouseButton.LeftButton)

    dialog = gallery.findChild(QDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.zoom.currentText() == "×4"
    assert dialog._image.pixmap().width() == 82 * 4
