"""Progress lag: how long after a worker sends a step the app's table holds it.

Four jobs report a step ten times a second from another process (emitter.py,
through worker/reporter.py) while the real app runs offscreen: the window on this
thread, its backend on its own, as `genqueue gui` starts them. A slot on the UI
thread, connected after the window's own, notes when each changed row arrives.

The lag of a progress event is that arrival minus the event's own time, which the
reporter sets as it sends the event; the step-to-table lag, which adds the
reporter's batching (a send every 250 ms), is given beside it. The baseline is a
Redis round trip (XADD, then XREAD of it) from this process. A timer on the UI
thread watches for stalls meanwhile.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import redis
from PySide6.QtCore import QObject, Slot

from benchmarks.qt import StallWatch, application, spin_for, spin_until
from benchmarks.report import Row, both, detail_under, under
from benchmarks.services import REPO
from gui.app import App
from shared.history import HistoryStore, JobView
from shared.settings import Settings

JOBS = 4


class Arrivals(QObject):
    """Notes each changed row as the UI thread receives it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int, float, float | None]] = []

    @Slot(list)
    def on_jobs_changed(self, jobs: list[JobView]) -> None:
        now = time.time()
        for job in jobs:
            recorded = job.latest.get("recorded")
            self.seen.append((job.id, job.step, now, recorded))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def redis_round_trip_ms(client: redis.Redis, count: int = 200) -> list[float]:
    key = f"bench:round-trip:{uuid.uuid4().hex}"
    times, last = [], "0-0"
    for index in range(count):
        started = time.perf_counter()
        entry: Any = client.xadd(key, {"i": index})
        client.xread({key: last}, count=1)
        times.append((time.perf_counter() - started) * 1000)
        last = entry.decode()
    client.delete(key)
    return times


def _add_jobs(settings: Settings) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(JOBS)]
    with HistoryStore.open(settings.db_path) as store:
        for job_id in ids:
            spec = {"model": "vae", "dataset": "digits", "epochs": 1, "name": "lag"}
            store.add_job(job_id, spec)
    return ids


def _lags(settings: Settings, seen: list[Any]) -> list[float]:
    """Arrival minus the event's time, for every progress event the app stored."""
    lags = []
    with HistoryStore.open(settings.db_path) as store:
        for job in store.list_jobs():
            arrivals = sorted((t, step) for j, step, t, _ in seen if j == job.id)
            for event in store.events(job.id, types=["progress"]):
                step = event.payload["step"]
                arrived = next((t for t, s in arrivals if s >= step), None)
                if arrived is not None:
                    lags.append((arrived - event.time) * 1000)
    return lags


def measure(settings: Settings, seconds: float) -> tuple[list[float], Arrivals, float]:
    """Run the app while four jobs report; return the lags, arrivals and worst stall."""
    application()
    job_ids = _add_jobs(settings)
    app = App(settings)
    arrivals = Arrivals()
    app.backend.jobs_changed.connect(arrivals.on_jobs_changed)
    watch = StallWatch()
    app.start()
    try:
        spin_until(lambda: app.window.model.rowCount() == JOBS, 60, "the history")
        watch.start()
        command = [sys.executable, "-m", "benchmarks.emitter", settings.broker_url]
        emitter = subprocess.Popen([*command, str(seconds), *job_ids], cwd=REPO)  # type: ignore[list-item]
        spin_until(lambda: emitter.poll() is not None, seconds + 60, "the emitter")
        spin_for(1.0)
        watch.stop()
        if emitter.returncode:
            raise RuntimeError(f"the emitter exited with {emitter.returncode}")
    finally:
        app.stop()
        app.window.close()
    return _lags(settings, arrivals.seen), arrivals, watch.worst_ms()


def row(settings: Settings, client: redis.Redis, seconds: float) -> Row:
    lags, arrivals, stall = measure(settings, seconds)
    round_trips = redis_round_trip_ms(client)
    step_lags = [(t - r) * 1000 for _, _, t, r in arrivals.seen if r is not None]
    return Row(
        key="progress_lag",
        what=f"progress lag, {JOBS} jobs at 10 Hz",
        unit="ms p95",
        genqueue=percentile(lags, 0.95),
        baseline=percentile(round_trips, 0.95),
        baseline_is="a Redis round trip (XADD, then XREAD of it) from this process",
        target=both(under(100, "ms"), detail_under("ui_stall_ms", 50, "stall < 50 ms")),
        note=f"{len(lags)} progress events over {seconds:g} s; app offscreen",
        details={
            "ui_stall_ms": stall,
            "median_ms": statistics.median(lags),
            "step_to_table_p95_ms": percentile(step_lags, 0.95),
        },
    )
