"""The whole app against a real Redis and worker: submit, watch, cancel, restart."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from gui.app import App
from gui.jobs_model import COLUMNS
from shared.settings import Settings
from tests.data_paths import path_dataset

pytestmark = pytest.mark.e2e

WAIT_MS = 180_000


@pytest.fixture
def app(settings: Settings, start_worker, qtbot) -> Iterator[App]:
    start_worker(settings)
    opened = open_app(settings, qtbot)
    yield opened
    opened.stop()


def open_app(settings: Settings, qtbot) -> App:
    opened = App(settings)
    qtbot.addWidget(opened.window)
    opened.start()
    return opened


def submit_through_form(qtbot, app: App, **fields: object) -> str:
    """Fill the New job form, click Submit, and return the new job's id."""
    known = {row.job.id for row in app.window.model._rows}
    form = app.window.open_form(None)
    spec = {"dataset": path_dataset()[0], "max_images": 384, "batch_size": 64}
    form.prefill({**spec, **fields})
    qtbot.waitUntil(lambda: form.spec() is not None, timeout=5000)
    submit = next(b for b in form.findChildren(QPushButton) if b.text() == "Submit")
    qtbot.mouseClick(submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(app.window.model._rows) > len(known), timeout=10_000)
    return next(r.job.id for r in app.window.model._rows if r.job.id not in known)


def wait_for_step(qtbot, app: App, job_id: str, step: int) -> None:
    """Wait until the table shows the job past ``step``."""
    model = app.window.model

    def is_past() -> bool:
        row = model.row_of(job_id)
        return row is not None and model.job_at(row).step > step

    qtbot.waitUntil(is_past, timeout=60_000)


def status_of(app: App, job_id: str) -> str:
    row = app.window.model.row_of(job_id)
    return "" if row is None else app.window.model.job_at(row).status


@pytest.mark.parametrize(
    ("model", "curves"),
    [
        ("vae", ("loss", "reconstruction", "kl")),
        ("gan", ("d_loss", "g_loss", "d_real", "d_fake")),
    ],
)
def test_a_job_submitted_through_the_form_succeeds_with_charts_and_gallery(
    qtbot, app: App, model: str, curves: tuple[str, ...]
) -> None:
    job_id = submit_through_form(qtbot, app, model=model, epochs=2)

    qtbot.waitUntil(lambda: status_of(app, job_id) == "succeeded", timeout=WAIT_MS)
    app.window.select_job(job_id)
    detail = app.window.detail
    qtbot.waitUntil(lambda: detail.job_id == job_id, timeout=10_000)

    steps = 2 * 6  # 384 images in batches of 64, two epochs
    for name in curves:
        qtbot.waitUntil(
            lambda n=name: detail.charts.point_count(n) == steps, timeout=5000
        )
    assert detail.gallery.epoch_count() == 2
    assert [epoch for epoch, _ in detail.charts.quality_points()] == [1, 2]
    assert "succeeded" in app.window.statusBar().currentMessage()
    row = app.window.model.row_of(job_id)
    assert (
        app.window.model.index(row, COLUMNS.index("progress")).data().startswith("100%")
    )


def generate_through_dialog(
    qtbot, app: App, source_id: str, mode: str, **fields: object
) -> str:
    """Select a trained job, fill its Generate dialog, click Generate; the new id."""
    known = {row.job.id for row in app.window.model._rows}
    app.window.select_job(source_id)
    action = app.window.actions_by_name["generate"]
    qtbot.waitUntil(action.isEnabled, timeout=10_000)
    action.trigger()
    dialog = app.window.form_dialog
    assert dialog is not None
    dialog._mode.setCurrentIndex(dialog._mode.findData(mode))
    for name, value in fields.items():
        dialog._edits[name].setText(str(value))
    qtbot.mouseClick(dialog._submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(app.window.model._rows) > len(known), timeout=10_000)
    return next(r.job.id for r in app.window.model._rows if r.job.id not in known)


def shown_image(qtbot, app: App, job_id: str, name: str) -> bytes:
    """The PNG the gallery shows for a finished job, once it has arrived."""
    qtbot.waitUntil(lambda: status_of(app, job_id) == "succeeded", timeout=WAIT_MS)
    app.window.select_job(job_id)
    detail = app.window.detail
    gallery = detail.gallery
    qtbot.waitUntil(
        lambda: detail.job_id == job_id and gallery.current_image(name) is not None,
        timeout=10_000,
    )
    image = gallery.current_image(name)
    assert image is not None
    return image.path.read_bytes()


def test_generate_jobs_from_the_app_draw_a_reproducible_grid_and_a_strip(
    qtbot, app: App
) -> None:
    source = submit_through_form(qtbot, app, model="vae", epochs=1)
    qtbot.waitUntil(lambda: status_of(app, source) == "succeeded", timeout=WAIT_MS)

    first = generate_through_dialog(qtbot, app, source, "samples", count=8, seed=3)
    again = generate_through_dialog(qtbot, app, source, "samples", count=8, seed=3)
    other = generate_through_dialog(qtbot, app, source, "samples", count=8, seed=4)
    strip = generate_through_dialog(
        qtbot, app, source, "interpolate", seed=1, seed_b=9, steps=5
    )

    grid = shown_image(qtbot, app, first, "samples")
    assert shown_image(qtbot, app, again, "samples") == grid
    assert shown_image(qtbot, app, other, "samples") != grid
    png = shown_image(qtbot, app, strip, "interpolation")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    side = height - 4  # one row of images with a 2-pixel border
    assert width == 5 * side + 6 * 2


def test_cancel_stops_a_running_job_and_shows_cancelled(qtbot, app: App) -> None:
    job_id = submit_through_form(qtbot, app, model="vae", epochs=300, batch_size=16)
    model = app.window.model
    wait_for_step(qtbot, app, job_id, 5)

    app.window.select_job(job_id)
    app.window.actions_by_name["cancel"].trigger()
    started = time.monotonic()
    qtbot.waitUntil(lambda: status_of(app, job_id) == "cancelled", timeout=15_000)

    assert time.monotonic() - started < 15
    assert model.job_at(model.row_of(job_id)).epoch < 300


def test_app_restarted_mid_job_shows_the_complete_history(
    qtbot, settings: Settings, start_worker
) -> None:
    start_worker(settings)
    first = open_app(settings, qtbot)
    job_id = submit_through_form(qtbot, first, model="vae", epochs=8, batch_size=16)
    wait_for_step(qtbot, first, job_id, 10)
    first.stop()
    first.window.close()

    second = open_app(settings, qtbot)
    try:
        qtbot.waitUntil(
            lambda: status_of(second, job_id) == "succeeded", timeout=WAIT_MS
        )
        second.window.select_job(job_id)
        total = 8 * 24  # 384 images in batches of 16
        charts = second.window.detail.charts
        qtbot.waitUntil(lambda: charts.point_count("loss") == total, timeout=10_000)
    finally:
        second.stop()


def test_with_the_broker_down_history_shows_and_submit_is_refused(
    qtbot, tmp_path
) -> None:
    settings = Settings.load(
        home=tmp_path / "home", broker_url="redis://:pw@127.0.0.1:1/0", environ={}
    )
    from shared.history import HistoryStore

    with HistoryStore.open(settings.db_path) as store:
        store.add_job(
            "0a0a0a0a-0000-4000-8000-000000000000",
            {"model": "vae", "dataset": "digits", "epochs": 3, "name": "old"},
        )
    app = open_app(settings, qtbot)
    try:
        qtbot.waitUntil(lambda: app.window.model.rowCount() == 1, timeout=10_000)
        qtbot.waitUntil(
            lambda: (
                app.window.broker_label.property("state")
                in {"reconnecting", "unreachable"}
            ),
            timeout=10_000,
        )
        assert "pw" not in app.window.broker_label.text()

        form = app.window.open_form(None)
        form.prefill({"dataset": "digits", "epochs": 1})
        qtbot.waitUntil(lambda: form.spec() is not None, timeout=5000)
        submit = next(b for b in form.findChildren(QPushButton) if b.text() == "Submit")
        qtbot.mouseClick(submit, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: "Cannot reach Redis" in form._error.text(), timeout=20_000
        )
        assert app.window.model.rowCount() == 1
    finally:
        app.stop()


def test_retry_clone_rename_and_delete_act_on_a_failed_job(
    qtbot, app: App, settings: Settings, tmp_path, monkeypatch
) -> None:
    missing = tmp_path / "gone"
    job_id = submit_through_form(qtbot, app, model="gan", epochs=1)
    qtbot.waitUntil(lambda: status_of(app, job_id) == "succeeded", timeout=WAIT_MS)
    from shared.client import Client
    from shared.spec import TrainSpec

    failing = TrainSpec.from_json(
        {"model": "vae", "dataset": str(missing), "epochs": 1}
    )
    failed_id = Client(settings).submit(failing, check_dataset=False)
    qtbot.waitUntil(lambda: status_of(app, failed_id) == "failed", timeout=WAIT_MS)
    window = app.window
    window.select_job(failed_id)
    assert window.actions_by_name["retry"].isEnabled()

    before = window.model.rowCount()
    window.actions_by_name["retry"].trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == before + 1, timeout=10_000)

    window.actions_by_name["clone"].trigger()
    assert window.form.spec() is None  # the missing dataset is marked in the form
    assert str(missing) in window.form.field_error("dataset")
    window.form.reject()

    window.rename_requested.emit(failed_id, "renamed in the app")
    qtbot.waitUntil(
        lambda: (
            window.model.job_at(window.model.row_of(failed_id)).name
            == "renamed in the app"
        ),
        timeout=10_000,
    )

    images = settings.images_dir / job_id
    assert images.is_dir()
    window.select_job(job_id)
    monkeypatch.setattr(window, "confirm_delete", lambda job: True)
    window.actions_by_name["delete"].trigger()
    qtbot.waitUntil(lambda: window.model.row_of(job_id) is None, timeout=10_000)
    assert not images.exists()
    assert window.detail.job_id != job_id


def test_the_app_opens_and_scrolls_ten_thousand_stored_jobs(qtbot, tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from shared.history import HistoryStore
    from shared.history.models import Job

    settings = Settings.load(
        home=tmp_path / "home", broker_url="redis://:pw@127.0.0.1:1/0", environ={}
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    spec = {"kind": "train", "model": "vae", "dataset": "digits", "epochs": 5}
    with HistoryStore.open(settings.db_path) as store, store.engine.begin() as db:
        rows = [
            {
                "id": f"{n:08x}-0000-4000-8000-000000000000",
                "name": f"job {n}",
                "kind": "train",
                "model": "vae",
                "dataset": "digits",
                "spec": spec,
                "status": "succeeded",
                "submitted_at": start + timedelta(seconds=n),
                "updated_at": start,
                "epoch": 5,
                "epochs": 5,
                "step": 50,
                "latest": {},
            }
            for n in range(10_000)
        ]
        db.execute(Job.__table__.insert(), rows)

    app = open_app(settings, qtbot)
    try:
        qtbot.waitUntil(lambda: app.window.model.rowCount() == 10_000, timeout=30_000)
        table = app.window.table
        bar = table.verticalScrollBar()
        for position in range(0, bar.maximum(), max(bar.maximum() // 20, 1)):
            bar.setValue(position)
            table.viewport().repaint()
        first = app.window.model.index(0, COLUMNS.index("name")).data()
        assert first == "job 9999"  # newest first
    finally:
        app.stop()


def test_genqueue_gui_quits_cleanly_with_exit_code_zero(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GENQUEUE_HOME": str(tmp_path)}
    env["GENQUEUE_BROKER_URL"] = "redis://:pw@127.0.0.1:1/0"
    command = [sys.executable, "-m", "shared.cli", "gui"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    # The backend opens the history once the window is up and the handlers are set.
    deadline = time.monotonic() + 60
    while not (tmp_path / "history.sqlite3").exists():
        assert time.monotonic() < deadline and process.poll() is None, (
            "app never started"
        )
        time.sleep(0.1)
    time.sleep(1)

    process.send_signal(signal.SIGTERM)
    _, errors = process.communicate(timeout=30)

    assert process.returncode == 0, errors
    assert "QThread: Destroyed while thread" not in errors


def test_the_app_shows_a_broker_restart_and_reconnects_by_itself(
    qtbot, tmp_path
) -> None:
    from shared.redis_server import EmbeddedRedis, free_port

    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    settings = Settings.load(home=tmp_path / "home", broker_url=server.url, environ={})
    app = open_app(settings, qtbot)
    label = app.window.broker_label
    try:
        qtbot.waitUntil(lambda: label.property("state") == "connected", timeout=10_000)
        server.stop()
        qtbot.waitUntil(
            lambda: label.property("state") == "reconnecting", timeout=10_000
        )
        server.start()
        qtbot.waitUntil(lambda: label.property("state") == "connected", timeout=15_000)
    finally:
        app.stop()
        server.stop()


def test_jobs_another_process_submits_and_cancels_show_up_while_queued(
    qtbot, settings: Settings
) -> None:
    from shared.client import Client
    from shared.spec import TrainSpec

    app = open_app(settings, qtbot)
    try:
        other = Client(settings)  # as the command line would, with no worker running
        job_id = other.submit(
            TrainSpec.from_json({"model": "vae", "dataset": "digits"})
        )
        qtbot.waitUntil(lambda: status_of(app, job_id) == "queued", timeout=5000)

        other.cancel(job_id)
        qtbot.waitUntil(lambda: status_of(app, job_id) == "cancelled", timeout=5000)
    finally:
        app.stop()


def test_saving_the_embedded_broker_url_keeps_up_starting_it(
    qtbot, tmp_path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from shared.redis_server import EmbeddedRedis
    from shared.settings import write_config

    settings = Settings.load(home=tmp_path / "home", environ={})
    embedded = EmbeddedRedis(settings.redis_dir)
    window = App(settings).window
    qtbot.addWidget(window)
    monkeypatch.setattr(QMessageBox, "information", lambda *args: None)
    write_config(settings.home, broker_url="redis://:other@gpu-box:6379/0")

    window._save_settings(embedded.url, settings.home)

    assert Settings.load(home=settings.home, environ={}).broker_url is None
