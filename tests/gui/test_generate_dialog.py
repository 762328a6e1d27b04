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
    dialog = GenerateDialog(make_job(9, status="succeeded", epoch=1))  # a VAE
    qtbot.addWidget(dialog)
    dialog.show()

    dialog._mode.setCurrentIndex(dialog._mode.findData("reconstruct"))

    assert (
        dialog._edits["indices"].isVisible() and not dialog._edits["count"].isVisible()
    )
    dialog._edits["indices"].setText("0, x")
    assert "Whole numbers only" in dialog._error.text()


def enabled_modes(dialog: GenerateDialog) -> list[str]:
    model = dialog._mode.model()
    return [
        dialog._mode.itemData(row)
        for row in range(dialog._mode.count())
        if model.item(row).isEnabled()
    ]


def test_only_the_modes_the_source_model_can_draw_are_offered(qtbot) -> None:
    gan = GenerateDialog(make_job(8, status="succeeded", epoch=1, model="dcgan"))
    vae = GenerateDialog(make_job(9, status="succeeded", epoch=1))
    cvae = GenerateDialog(make_job(11, status="succeeded", epoch=1, model="cvae"))
    for dialog in (gan, vae, cvae):
        qtbot.addWidget(dialog)

    assert enabled_modes(gan) == ["samples", "interpolate"]
    assert enabled_modes(vae) == ["samples", "interpolate", "reconstruct"]
    assert enabled_modes(cvae) == ["samples", "interpolate", "reconstruct", "classes"]
