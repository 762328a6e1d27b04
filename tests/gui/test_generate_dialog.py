"""The Generate dialog asks only what a mode uses and refuses values out of range."""

from __future__ import annotations

from gui.forms.generate_dialog import GenerateDialog
from shared.generation import GenerateSpec
from tests.gui.test_jobs_table import make_job


def test_interpolation_refuses_one_step_and_emits_the_spec(qtbot) -> None:
    source = make_job(7, status="succeeded", epoch=5)
    dialog = GenerateDialog(source)
    qtbot.addWidget(dialog)
    dialog._mode.setCurrentIndex(dialog._mode.findData("interpolate"))

    dialog._edits["steps"].setText("1")
    assert dialog.spec() is None and not dialog._submit.isEnabled()
    assert "steps must be at least 2, got 1" in dialog._error.text()

    dialog._edits["steps"].setText("5")
    with qtbot.waitSignal(dialog.submit_requested) as emitted:
        dialog._submit.click()

    spec = emitted.args[0]
    assert isinstance(spec, GenerateSpec)
    assert (spec.source, spec.mode, spec.steps, spec.seed_b) == (
        source.id,
        "interpolate",
        5,
        1,
    )


def test_a_mode_shows_only_its_fields(qtbot) -> None:
    dialog = GenerateDialog(make_job(8, status="succeeded", epoch=1))
    qtbot.addWidget(dialog)
    dialog.show()

    dialog._mode.setCurrentIndex(dialog._mode.findData("reconstruct"))

    assert (
        dialog._edits["indices"].isVisible() and not dialog._edits["count"].isVisible()
    )
    dialog._edits["indices"].setText("0, x")
    assert "Whole numbers only" in dialog._error.text()
