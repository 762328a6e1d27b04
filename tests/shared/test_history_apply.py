"""apply_events: each stream entry is stored and applied exactly once."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from shared.errors import JobNotFound
from shared.events import Event
from shared.history import HistoryStore, parse_stream_id

JOB = "5e1f0c2a-8b6d-4c1e-9f3a-2d7b6e4a1c00"
SPEC = {"kind": "train", "model": "gan", "dataset": "digits", "epochs": 3}


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with HistoryStore.open(tmp_path / "history.db") as opened:
        opened.add_job(JOB, SPEC)
        yield opened


def log_entries(first: int, last: int) -> list[tuple[str, Event]]:
    """Log entries with stream ids "<n>-0" for n in first..last."""
    return [
        (f"{n}-0", Event("log", {"level": "info", "message": f"m{n}"}, time=n))
        for n in range(first, last + 1)
    ]


def stored_ids(store: HistoryStore) -> list[str]:
    return [event.stream_id for event in store.events(JOB)]


def cursor(store: HistoryStore) -> str:
    return dict(store.jobs_to_follow())[JOB]


def png_bytes(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), color=128).save(buffer, format="PNG")
    return buffer.getvalue()


def test_stream_ids_compare_as_numbers_not_strings() -> None:
    assert parse_stream_id("9-0") < parse_stream_id("10-0")
    assert parse_stream_id("10-2") < parse_stream_id("10-10")


def test_a_batch_applied_twice_is_stored_once(
    store: HistoryStore, tmp_path: Path
) -> None:
    batch = log_entries(1, 5)

    first = store.apply_events(JOB, batch, tmp_path)
    second = store.apply_events(JOB, batch, tmp_path)

    assert (first, second) == (5, 0)
    assert stored_ids(store) == ["1-0", "2-0", "3-0", "4-0", "5-0"]
    assert cursor(store) == "5-0"


def test_a_batch_overlapping_the_cursor_applies_only_new_entries(
    store: HistoryStore, tmp_path: Path
) -> None:
    store.apply_events(JOB, log_entries(1, 5), tmp_path)

    applied = store.apply_events(JOB, log_entries(3, 8), tmp_path)

    assert applied == 3
    assert stored_ids(store)[-3:] == ["6-0", "7-0", "8-0"]
    assert cursor(store) == "8-0"


def test_cursor_order_is_numeric(store: HistoryStore, tmp_path: Path) -> None:
    store.apply_events(JOB, log_entries(9, 9), tmp_path)

    applied = store.apply_events(JOB, log_entries(10, 11), tmp_path)

    assert applied == 2
    assert cursor(store) == "11-0"


def test_a_failing_entry_rolls_back_the_whole_batch(
    store: HistoryStore, tmp_path: Path
) -> None:
    store.apply_events(JOB, log_entries(1, 2), tmp_path)
    unserializable = Event("log", {"message": object()}, time=5.0)
    batch = [*log_entries(3, 4), ("5-0", unserializable), *log_entries(6, 7)]

    with pytest.raises(TypeError):
        store.apply_events(JOB, batch, tmp_path)

    assert stored_ids(store) == ["1-0", "2-0"]
    assert cursor(store) == "2-0"
    assert store.apply_events(JOB, log_entries(3, 4), tmp_path) == 2


def test_unknown_job_is_refused(store: HistoryStore, tmp_path: Path) -> None:
    with pytest.raises(JobNotFound, match="no-such-job"):
        store.apply_events("no-such-job", log_entries(1, 1), tmp_path)


def test_event_of_unknown_type_is_kept_and_ignored(
    store: HistoryStore, tmp_path: Path
) -> None:
    strange = Event("telemetry", {"x": 1}, time=1.0)  # type: ignore[arg-type]

    applied = store.apply_events(JOB, [("1-0", strange)], tmp_path)

    assert applied == 1
    assert [event.type for event in store.events(JOB)] == ["telemetry"]
    assert store.get_job(JOB).status == "queued"


def test_running_sets_start_device_and_worker(
    store: HistoryStore, tmp_path: Path
) -> None:
    payload = {"status": "running", "device": "cuda:0", "worker": "gpu1", "dataset": {}}

    store.apply_events(JOB, [("1-0", Event("state", payload, time=1000.0))], tmp_path)

    job = store.get_job(JOB)
    assert job.status == "running"
    assert job.started_at == datetime.fromtimestamp(1000.0, UTC)
    assert (job.device, job.worker) == ("cuda:0", "gpu1")
    assert job.finished_at is None


def test_failed_sets_finish_and_error(store: HistoryStore, tmp_path: Path) -> None:
    entries = [
        ("1-0", Event("state", {"status": "running"}, time=1000.0)),
        ("2-0", Event("state", {"status": "failed", "error": "NaN loss"}, time=1060.0)),
    ]

    store.apply_events(JOB, entries, tmp_path)

    job = store.get_job(JOB)
    assert job.status == "failed"
    assert job.finished_at == datetime.fromtimestamp(1060.0, UTC)
    assert job.error == "NaN loss"
    assert job.duration is not None and job.duration.total_seconds() == 60.0


def test_succeeded_records_outputs_and_is_no_longer_followed(
    store: HistoryStore, tmp_path: Path
) -> None:
    done = Event("state", {"status": "succeeded", "outputs": "s3://b/j"}, time=9.0)

    store.apply_events(JOB, [("1-0", done)], tmp_path)

    assert store.get_job(JOB).outputs == "s3://b/j"
    assert store.jobs_to_follow() == []


def test_error_event_fills_an_empty_error(store: HistoryStore, tmp_path: Path) -> None:
    error = Event("error", {"message": "CUDA out of memory", "traceback": "..."})

    store.apply_events(JOB, [("1-0", error)], tmp_path)

    assert store.get_job(JOB).error == "CUDA out of memory"


def test_progress_updates_the_job(store: HistoryStore, tmp_path: Path) -> None:
    payload = {
        "epoch": 2,
        "epochs": 3,
        "step": 140,
        "steps_per_epoch": 70,
        "images_per_second": 812.5,
    }

    store.apply_events(JOB, [("1-0", Event("progress", payload))], tmp_path)

    job = store.get_job(JOB)
    assert (job.epoch, job.epochs, job.step) == (2, 3, 140)
    assert (job.steps_per_epoch, job.images_per_second) == (70, 812.5)


def test_metrics_rows_are_stored_and_latest_kept(
    store: HistoryStore, tmp_path: Path
) -> None:
    rows = [
        {"epoch": 1, "step": 2, "loss_d": 0.7, "loss_g": 1.2},
        {"epoch": 1, "step": 1, "loss_d": 0.9, "loss_g": 1.5},
    ]

    store.apply_events(JOB, [("1-0", Event("metrics", {"rows": rows}))], tmp_path)

    points = store.metrics(JOB)
    assert [(p.epoch, p.step) for p in points] == [(1, 1), (1, 2)]
    assert points[0].values == {"loss_d": 0.9, "loss_g": 1.5}
    assert store.get_job(JOB).latest == {"loss_d": 0.9, "loss_g": 1.5}


def test_a_resumed_run_in_the_same_batch_drops_the_steps_it_will_redo(
    store: HistoryStore, tmp_path: Path
) -> None:
    first = [{"epoch": 1, "step": n, "loss": 1.0 / n} for n in (1, 2, 3, 4)]
    again = [{"epoch": 1, "step": n, "loss": 2.0 / n} for n in (3, 4)]
    batch = [
        ("1-0", Event("metrics", {"rows": first})),
        ("2-0", Event("state", {"status": "running", "start_step": 2})),
        ("3-0", Event("metrics", {"rows": again})),
    ]

    store.apply_events(JOB, batch, tmp_path)

    points = store.metrics(JOB)
    assert [(p.step, p.values["loss"]) for p in points] == [
        (1, 1.0),
        (2, 0.5),
        (3, 2.0 / 3),
        (4, 0.5),
    ]
    assert stored_ids(store) == ["1-0", "2-0", "3-0"]


def test_epoch_summary_is_replaced_not_duplicated(
    store: HistoryStore, tmp_path: Path
) -> None:
    entries = [
        ("1-0", Event("epoch", {"epoch": 1, "means": {"loss": 2.0}})),
        ("2-0", Event("epoch", {"epoch": 1, "means": {"loss": 1.5}})),
        ("3-0", Event("epoch", {"epoch": 2, "means": {"loss": 1.0}})),
    ]

    store.apply_events(JOB, entries, tmp_path)

    assert store.epoch_means(JOB) == [(1, {"loss": 1.5}), (2, {"loss": 1.0})]


def test_image_is_written_as_png_and_recorded(
    store: HistoryStore, tmp_path: Path
) -> None:
    images_root = tmp_path / "images"
    payload = {"epoch": 3, "name": "samples", "width": 64, "height": 32}
    event = Event("image", payload, png=png_bytes(64, 32))

    store.apply_events(JOB, [("1-0", event)], images_root)

    [image] = store.images(JOB)
    assert image.path == images_root / JOB / "samples_epoch003.png"
    with Image.open(image.path) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (64, 32))
    assert (image.epoch, image.name, image.width, image.height) == (
        3,
        "samples",
        64,
        32,
    )
    assert store.get_job(JOB).samples_dir == str(images_root / JOB)
    assert "png" not in store.events(JOB)[0].payload
    assert [p.name for p in (images_root / JOB).iterdir()] == ["samples_epoch003.png"]


def test_image_with_an_unknown_name_is_not_written(
    store: HistoryStore, tmp_path: Path
) -> None:
    payload = {"epoch": 1, "name": "../../evil", "width": 8, "height": 8}

    store.apply_events(
        JOB, [("1-0", Event("image", payload, png=png_bytes(8, 8)))], tmp_path
    )

    assert store.images(JOB) == []
    assert not (tmp_path / JOB).exists()


def test_several_jobs_in_one_call_each_take_their_entries_once(
    store: HistoryStore, tmp_path: Path
) -> None:
    other = "5e1f0c2a-8b6d-4c1e-9f3a-2d7b6e4a1c01"
    store.add_job(other, SPEC)
    running = ("1-0", Event("state", {"status": "running", "start_step": 0}))
    done = ("2-0", Event("state", {"status": "succeeded"}))
    batches = {JOB: [running, done], other: [running]}

    first = store.apply_batches(batches, tmp_path)
    second = store.apply_batches(batches, tmp_path)

    assert first == {JOB: 2, other: 1} and second == {JOB: 0, other: 0}
    assert store.get_job(JOB).status == "succeeded"
    assert store.get_job(other).status == "running"
    assert [e.stream_id for e in store.events(other)] == ["1-0"]


def test_a_call_naming_an_unknown_job_stores_nothing_for_any(
    store: HistoryStore, tmp_path: Path
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"

    with pytest.raises(JobNotFound, match=missing):
        store.apply_batches(
            {JOB: log_entries(1, 3), missing: log_entries(1, 1)}, tmp_path
        )

    assert stored_ids(store) == [] and cursor(store) == "0-0"
