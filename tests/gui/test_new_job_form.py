"""The new-job form refuses bad values where they are typed and emits a valid spec."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton  # noqa: E402

from gui.forms.new_job import NewJobDialog  # noqa: E402
from shared.spec import TrainSpec  # noqa: E402


@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def dialog(qtbot, store: QSettings) -> NewJobDialog:
    form = NewJobDialog(store)
    qtbot.addWidget(form)
    return form


def edit(dialog: NewJobDialog, name: str, text: str) -> None:
    dialog._edits[name].setText(text)


def submit_button(dialog: NewJobDialog) -> QPushButton:
    return dialog._submit


def test_defaults_with_digits_are_valid(dialog: NewJobDialog) -> None:
    spec = dialog.spec()

    assert spec == TrainSpec(model="vae", dataset="digits")
    assert submit_button(dialog).isEnabled()
    assert all(not dialog.field_error(n) for n in ("dataset", "epochs", "lr"))


@pytest.mark.parametrize(
    ("name", "text", "allowed"),
    [
        ("epochs", "0", "1 – 10000"),
        ("batch_size", "abc", "1 – 8192"),
        ("lr", "5", "0.000001 – 1"),
        ("latent_dim", "0", "1 – 1024"),
        ("image_size", "2", "4 – 256"),
    ],
)
def test_form_refuses_out_of_range_values_and_keeps_the_text(
    dialog: NewJobDialog, name: str, text: str, allowed: str
) -> None:
    edit(dialog, name, text)

    assert allowed in dialog.field_error(name)
    assert dialog._edits[name].text() == text
    assert dialog._edits[name].property("invalid") is True
    assert dialog.spec() is None
    assert not submit_button(dialog).isEnabled()


def test_refusal_note_under_the_field_shows_the_range(dialog: NewJobDialog) -> None:
    edit(dialog, "epochs", "0")

    notes = [label.text() for label in dialog.findChildren(QLabel)]

    assert any("1 – 10000" in text for text in notes)


def test_fixing_the_last_refused_field_enables_submit(dialog: NewJobDialog) -> None:
    edit(dialog, "epochs", "0")
    edit(dialog, "lr", "5")

    edit(dialog, "epochs", "3")
    assert not submit_button(dialog).isEnabled()
    edit(dialog, "lr", "1e-4")

    assert submit_button(dialog).isEnabled()
    assert dialog.spec().lr == pytest.approx(1e-4)
    assert dialog._edits["epochs"].property("invalid") is False


def test_missing_dataset_path_is_refused_with_the_path_named(
    qtbot, dialog: NewJobDialog, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-mnist"

    dialog._dataset.setEditText(str(missing))

    assert not submit_button(dialog).isEnabled()
    qtbot.waitUntil(lambda: str(missing) in dialog.field_error("dataset"))
    assert not submit_button(dialog).isEnabled()
    assert dialog._dataset.property("invalid") is True


def test_dataset_is_checked_once_typing_pauses(
    qtbot, dialog: NewJobDialog, tmp_path: Path
) -> None:
    dialog._dataset.setEditText(str(tmp_path / "a"))
    qtbot.waitUntil(lambda: bool(dialog.field_error("dataset")))

    dialog._dataset.setEditText("digits")

    assert dialog.spec() is None
    qtbot.waitUntil(lambda: dialog.spec() is not None)
    assert dialog.field_error("dataset") == ""


def test_prefill_round_trips_a_spec(dialog: NewJobDialog) -> None:
    spec = TrainSpec(
        model="gan",
        dataset="digits",
        epochs=7,
        batch_size=64,
        lr=2e-4,
        latent_dim=100,
        seed=42,
        name="clone of dcgan",
        image_size=32,
        channels=3,
        max_images=500,
    )

    dialog.prefill(spec.to_json())

    assert dialog.spec() == spec
    assert dialog._edits["lr"].text() == "0.0002"


def test_submit_emits_the_spec_the_fields_describe(qtbot, dialog) -> None:
    dialog.prefill({"model": "gan", "dataset": "digits"})
    edit(dialog, "epochs", "12")
    edit(dialog, "name", "  night run ")

    with qtbot.waitSignal(dialog.submit_requested) as blocker:
        submit_button(dialog).click()

    expected = TrainSpec(model="gan", dataset="digits", epochs=12, name="night run")
    assert blocker.args == [expected]
    assert not submit_button(dialog).isEnabled()


def test_submitted_values_reappear_in_a_new_dialog(qtbot, store, dialog) -> None:
    dialog.prefill({"model": "gan", "dataset": "digits", "epochs": 9, "seed": 3})
    submit_button(dialog).click()

    again = NewJobDialog(store)
    qtbot.addWidget(again)

    assert again.spec() == TrainSpec(model="gan", dataset="digits", epochs=9, seed=3)


def test_garbage_in_the_settings_file_falls_back_to_defaults(qtbot, store) -> None:
    store.setValue("new_job/last_spec", "{not json")

    form = NewJobDialog(store)
    qtbot.addWidget(form)

    assert form.spec() == TrainSpec(model="vae", dataset="digits")


def test_show_error_displays_the_refusal_and_allows_a_retry(dialog) -> None:
    submit_button(dialog).click()
    text = "Cannot reach Redis at localhost:6390; start it with `genqueue up`."

    dialog.show_error(text)

    shown = [label for label in dialog.findChildren(QLabel) if label.text() == text]
    assert shown and not shown[0].isHidden()
    assert submit_button(dialog).isEnabled()


def test_number_fields_are_plain_line_edits(dialog: NewJobDialog) -> None:
    assert isinstance(dialog._edits["epochs"], QLineEdit)


def test_switching_to_gan_follows_its_published_learning_rate(dialog) -> None:
    dialog.prefill({"model": "vae", "dataset": "digits"})
    model_box = dialog._model
    model_box.setCurrentIndex(model_box.findData("gan"))

    assert dialog._edits["lr"].text() == "0.0002"


def choose_model(dialog: NewJobDialog, model: str) -> None:
    dialog._model.setCurrentIndex(dialog._model.findData(model))


def test_critic_steps_for_wgan_gp_are_accepted_in_their_field(dialog) -> None:
    dialog.prefill({"model": "wgan_gp", "dataset": "digits", "image_size": 28})

    edit(dialog, "critic_steps", "3")

    assert dialog.field_error("critic_steps") == ""
    spec = dialog.spec()
    assert spec is not None and spec.critic_steps == 3


def test_an_option_the_model_does_not_read_is_refused_under_the_form(dialog) -> None:
    dialog.prefill({"model": "gan", "dataset": "digits"})

    edit(dialog, "kl_weight", "0.5")

    assert dialog.spec() is None and not submit_button(dialog).isEnabled()
    assert dialog.field_error("kl_weight") == ""
    shown = [label.text() for label in dialog.findChildren(QLabel)]
    assert any("kl_weight (--kl-weight) applies only to vae" in t for t in shown)


def test_switching_model_resets_the_options_the_new_one_does_not_read(
    dialog,
) -> None:
    dialog.prefill({"model": "wgan_gp", "dataset": "digits", "image_size": 28})
    edit(dialog, "critic_steps", "3")

    choose_model(dialog, "dcgan")

    assert dialog._edits["critic_steps"].text() == "5"
    assert dialog.spec() == TrainSpec(model="dcgan", dataset="digits", image_size=28)


def test_a_clone_drops_an_option_its_model_never_read(dialog) -> None:
    dialog.prefill({"model": "gan", "dataset": "digits", "kl_weight": 0.5})

    assert dialog._edits["kl_weight"].text() == "1"
    assert dialog.spec() == TrainSpec(model="gan", dataset="digits")


def test_a_rule_across_fields_is_shown_until_it_holds_then_cleared(dialog) -> None:
    dialog.prefill({"model": "dcgan", "dataset": "digits"})
    assert "dcgan needs image_size 28, 32 or 64, got 8" in dialog._error.text()
    assert dialog.spec() is None

    edit(dialog, "image_size", "32")

    assert dialog._error.text() == ""
    assert dialog.spec() is not None and submit_button(dialog).isEnabled()
