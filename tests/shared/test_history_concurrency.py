"""Two writers on one history at once: no lost, doubled or refused writes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

from shared.events import Event
from shared.history import HistoryStore

JOB = "0c0c0c0c-1111-2222-3333-444444444444"
SPEC = {"kind": "train", "model": "vae", "dataset": "digits", "epochs": 1}
EVENTS = 1000
BATCH = 500


def metric_entries(first: int, last: int) -> list[tuple[str, Event]]:
    """Metrics entries for steps first..last-1; ids span a digit change (99 -> 100)."""
    return [
        (f"{step + 90}-{step % 3}", Event("metrics", {"rows": [row(step)]}, time=step))
        for step in range(first, last)
    ]


def row(step: int) -> dict[str, float]:
    return {"epoch": 1, "step": step, "loss": 1.0 / (step + 1)}


def _ingest(db: str, stride: int, barrier: Barrier) -> None:
    """Walk the stream in overlapping windows of BATCH, as a reader that re-reads."""
    with HistoryStore.open(Path(db)) as store:
        barrier.wait(timeout=30)
        for start in range(0, EVENTS - BATCH + 1, stride):
            store.apply_events(
                JOB, metric_entries(start, start + BATCH), Path(db).parent
            )


def test_two_processes_applying_overlapping_batches_store_the_union_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "history.db"
    with HistoryStore.open(db) as store:
        store.add_job(JOB, SPEC)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [
        context.Process(target=_ingest, args=(str(db), stride, barrier))
        for stride in (100, 250)
    ]

    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [process.exitcode for process in processes] == [0, 0]
    with HistoryStore.open(db) as store:
        stream_ids = [event.stream_id for event in store.events(JOB)]
        steps = [point.step for point in store.metrics(JOB)]
        follow = store.jobs_to_follow()
    assert stream_ids == [stream_id for stream_id, _ in metric_entries(0, EVENTS)]
    assert steps == list(range(EVENTS))
    assert follow == [(JOB, metric_entries(EVENTS - 1, EVENTS)[0][0])]


def test_a_write_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with HistoryStore.open(db) as store:
        store.add_job(JOB, SPEC)
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        releaser = threading.Timer(0.5, other.execute, args=("COMMIT",))
        releaser.start()

        started = time.monotonic()
        applied = store.apply_events(JOB, metric_entries(0, 3), tmp_path)
        waited = time.monotonic() - started
        releaser.join()
        other.close()

    assert applied == 3
    assert waited >= 0.4
