"""Jobs the history calls queued but the broker lost are flagged and retried.

Deleting the queue's list is what a purge does, and what a Redis that lost its data
leaves behind for the queue: the history still says queued, and no worker will ever
see the message.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from shared.client import Client
from shared.history import JobView
from shared.queue_check import is_not_in_queue, task_ids_in_broker
from shared.settings import Settings
from tests.faults.commands import genqueue
from tests.faults.tiny_jobs import vae, wait_for_step

pytestmark = pytest.mark.e2e
# The app test draws offscreen, as the app's own tests do.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def lost_settings(settings: Settings, shared_artifacts: Path) -> Settings:
    return replace(settings, artifact_dir=shared_artifacts)


def test_sync_flags_jobs_the_queue_lost_and_retry_runs_one_to_success(
    lost_settings: Settings, start_worker
) -> None:
    client = Client(lost_settings)
    lost = [client.submit(vae(1, f"lost {n}")) for n in (1, 2)]
    client.redis.delete(lost_settings.queue)
    kept = client.submit(vae(1, "kept"))

    synced = genqueue(lost_settings, "sync")

    assert synced.returncode == 0, synced.stderr
    for job_id in lost:
        assert f"`genqueue retry {job_id[:8]}`" in synced.stdout
    assert "1 queued, 0 running, 2 not in the queue" in synced.stdout
    assert all(is_not_in_queue(client.store.get_job(job_id)) for job_id in lost)
    assert client.store.get_job(kept).status == "queued"

    retried = genqueue(lost_settings, "retry", lost[0])
    assert retried.returncode == 0, retried.stderr
    copy = retried.stdout.strip()
    start_worker(lost_settings)

    assert client.wait(copy, timeout=120).status == "succeeded"
    assert client.wait(kept, timeout=120).status == "succeeded"
    original = client.store.get_job(lost[0])
    assert original.status == "cancelled" and original.started_at is None
    untouched = client.store.get_job(lost[1])
    assert is_not_in_queue(untouched) and untouched.started_at is None


def test_retry_refuses_a_job_that_is_still_queued(lost_settings: Settings) -> None:
    job_id = Client(lost_settings).submit(vae(1, "queued"))

    result = genqueue(lost_settings, "retry", job_id)

    assert result.returncode == 2
    assert f"Job {job_id[:8]} is still queued" in result.stderr
    assert "genqueue sync" in result.stderr


def test_waiting_on_a_job_the_queue_lost_ends_with_the_way_out(
    lost_settings: Settings,
) -> None:
    job_id = Client(lost_settings).submit(vae(1, "lost"))
    Client(lost_settings).redis.delete(lost_settings.queue)

    waited = genqueue(lost_settings, "wait", job_id, "--timeout", "60", timeout=90)

    assert waited.returncode == 3
    assert "Not in the queue" in waited.stderr
    assert f"`genqueue retry {job_id[:8]}`" in waited.stderr


def test_the_check_leaves_running_and_queued_jobs_alone(
    lost_settings: Settings, start_worker
) -> None:
    start_worker(lost_settings)
    client = Client(lost_settings)
    running = client.submit(vae(2, "running"))
    wait_for_step(client, running, 1, timeout=90)
    queued = client.submit(vae(1, "behind it"))

    held = task_ids_in_broker(client.redis)
    offline = client.sync()

    # The running job's message is in `unacked`, the other one in the queue's list.
    assert {running, queued} <= held
    assert offline is None
    assert client.store.get_job(running).status == "running"
    assert client.store.get_job(queued).status == "queued"
    assert client.wait(queued, timeout=180).status == "succeeded"


def test_the_app_flags_a_job_the_queue_lost_and_its_retry_runs(
    lost_settings: Settings, start_worker, qtbot
) -> None:
    from gui.app import App

    client = Client(lost_settings)
    job_id = client.submit(vae(1, "lost"))
    client.redis.delete(lost_settings.queue)
    app = App(lost_settings)
    qtbot.addWidget(app.window)
    app.start()
    try:
        window, model = app.window, app.window.model

        def shown(job: str) -> JobView | None:
            index = model.row_of(job)
            return None if index is None else model.job_at(index)

        def status(job: str) -> str:
            view = shown(job)
            return "" if view is None else view.status

        qtbot.waitUntil(lambda: status(job_id) == "interrupted", timeout=30_000)
        window.select_job(job_id)
        assert window.actions_by_name["retry"].isEnabled()
        assert f"genqueue retry {job_id[:8]}" in (shown(job_id).error or "")

        window.actions_by_name["retry"].trigger()
        qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=10_000)
        copy = next(
            model.job_at(i).id for i in range(2) if model.job_at(i).id != job_id
        )
        start_worker(lost_settings)
        qtbot.waitUntil(lambda: status(copy) == "succeeded", timeout=180_000)
        qtbot.waitUntil(lambda: status(job_id) == "cancelled", timeout=10_000)
    finally:
        app.stop()
