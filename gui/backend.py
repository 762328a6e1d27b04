"""The app's background worker: history queries, ingestion and broker calls.

It lives on its own QThread and talks to the widgets only through signals, so the
UI thread never waits on SQLite or Redis. A timer on that thread reads the job
streams twenty times a second; what changed goes out as lists of rows, coalesced per
tick, and the selected job's new points go out as a delta.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import redis
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from gui.detail_model import LOG_TYPES, DetailDelta, JobDetail
from shared.client import Client
from shared.errors import GenqueueError
from shared.events import TERMINAL
from shared.generation import GenerateSpec
from shared.history import JobView
from shared.queue import broker_url, connect_redis
from shared.settings import Settings, redact
from shared.spec import TrainSpec
from shared.workers import list_workers

logger = logging.getLogger(__name__)

PAGE = 2000
# A step reaches the table at most one tick after it reaches Redis: at 100 ms the
# 95th percentile of that lag was over 100 ms; at 50 ms it is about half.
TICK_MS = 50
WORKERS_EVERY_S = 2.0
# How often queued jobs are looked for on the broker; a lost one turns interrupted.
QUEUE_CHECK_EVERY_S = 5.0
RECONNECT_EVERY_S = 2.0
# After this long without a connection the broker is called unreachable, not
# merely reconnecting.
UNREACHABLE_AFTER_S = 10.0


class Backend(QObject):
    """Everything the app does that may block, on a thread of its own."""

    jobs_reset = Signal(list)
    jobs_appended = Signal(list)
    jobs_changed = Signal(list)
    job_removed = Signal(str)
    job_ended = Signal(object)
    detail_ready = Signal(object)
    detail_delta = Signal(object)
    broker_changed = Signal(str, str)
    workers_changed = Signal(list)
    submitted = Signal(str)
    submit_failed = Signal(str)
    action_failed = Signal(str)
    test_result = Signal(bool, str)
    stopped = Signal()

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.client: Client | None = None
        self._timer: QTimer | None = None
        self._state = ""
        self._down_since: float | None = None
        self._next_connect = 0.0
        self._next_workers = 0.0
        self._next_queue_check = 0.0
        self._selected: str | None = None
        self._watermark = datetime.now(UTC)
        # What each row looked like when last sent, to send each change once.
        self._sent: dict[str, datetime] = {}
        self._status: dict[str, str] = {}
        self._detail_step = 0
        self._detail_event = 0

    # -- life cycle -------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """Load the history (offline is fine), then begin following the broker."""
        self.client = Client(self.settings)
        self._load_history()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start(TICK_MS)

    @Slot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self.client is not None:
            self.client.store.close()
        self.stopped.emit()

    def _load_history(self) -> None:
        assert self.client is not None
        # Taken first, so a change made while the pages load is sent once more.
        self._watermark = datetime.now(UTC)
        offset = 0
        while True:
            page = self.client.store.list_jobs(limit=PAGE, offset=offset)
            self._status.update((job.id, job.status) for job in page)
            (self.jobs_appended if offset else self.jobs_reset).emit(page)
            offset += len(page)
            if len(page) < PAGE:
                return

    # -- the tick ---------------------------------------------------------------

    @Slot()
    def _on_tick(self) -> None:
        if self._ensure_connected():
            self._read_broker()
        # Rows change here, and in other processes (the command line, another
        # window) that read streams or submit; the history says what changed.
        self._publish_changes()

    def _read_broker(self) -> None:
        assert self.client is not None
        try:
            self.client.ingestor.poll()
            self._refresh_workers()
            self._check_queue()
        except (redis.RedisError, GenqueueError) as exc:
            self._lost(exc)

    def _ensure_connected(self) -> bool:
        assert self.client is not None
        if self._state == "connected":
            return True
        if time.monotonic() < self._next_connect:
            return False
        try:
            self.client.redis  # noqa: B018 - connects and pings
        except (GenqueueError, redis.RedisError) as exc:
            self._lost(exc)
            return False
        self._down_since = None
        # A broker that comes back may have lost its queue: look at once.
        self._next_queue_check = 0.0
        self._set_state("connected")
        return True

    def _lost(self, exc: Exception) -> None:
        assert self.client is not None
        logger.warning("broker connection lost: %s", exc)
        self.client.reset_connection()
        now = time.monotonic()
        self._down_since = self._down_since or now
        self._next_connect = now + RECONNECT_EVERY_S
        waited = now - self._down_since
        self._set_state(
            "unreachable" if waited >= UNREACHABLE_AFTER_S else "reconnecting"
        )

    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        self.broker_changed.emit(state, self._broker_text())
        if state != "connected":
            self.workers_changed.emit([])

    def _broker_text(self) -> str:
        try:
            return redact(broker_url(self.settings))
        except GenqueueError:
            return "no broker configured"

    def _refresh_workers(self) -> None:
        assert self.client is not None
        if time.monotonic() < self._next_workers:
            return
        self._next_workers = time.monotonic() + WORKERS_EVERY_S
        self.workers_changed.emit(list_workers(self.client.redis))

    def _check_queue(self) -> None:
        assert self.client is not None
        if time.monotonic() < self._next_queue_check:
            return
        self._next_queue_check = time.monotonic() + QUEUE_CHECK_EVERY_S
        self.client.queue_check.look()

    def _publish_changes(self) -> None:
        assert self.client is not None
        rows = [
            job
            for job in self.client.store.changed_since(self._watermark)
            if self._sent.get(job.id) != job.updated_at
        ]
        if not rows:
            return
        self._watermark = rows[-1].updated_at
        self._sent.update((job.id, job.updated_at) for job in rows)
        self.jobs_changed.emit(rows)
        for job in rows:
            before = self._status.get(job.id)
            self._status[job.id] = job.status
            if job.status in TERMINAL and before not in TERMINAL:
                self.job_ended.emit(job)
            if job.id == self._selected:
                self._send_delta(job)

    # -- the selected job -------------------------------------------------------

    @Slot(str)
    def select(self, job_id: str) -> None:
        """Load everything about one job for the detail views."""
        assert self.client is not None
        self._selected = job_id or None
        if not job_id:
            return
        store = self.client.store
        try:
            job = store.get_job(job_id)
        except GenqueueError as exc:
            self.action_failed.emit(str(exc))
            return
        metrics = store.metrics(job_id)
        logs = store.events(job_id, types=LOG_TYPES)
        detail = JobDetail(
            job, metrics, store.epoch_means(job_id), store.images(job_id), logs
        )
        self._remember(metrics[-1].step if metrics else 0, logs)
        self.detail_ready.emit(detail)

    def _send_delta(self, job: JobView) -> None:
        assert self.client is not None
        if job.step < self._detail_step:
            # A new run of the job dropped the steps it will redo: start over.
            self.select(job.id)
            return
        store = self.client.store
        metrics = store.metrics(job.id, after_step=self._detail_step)
        logs = store.events(job.id, after_id=self._detail_event, types=LOG_TYPES)
        delta = DetailDelta(
            job, metrics, store.epoch_means(job.id), store.images(job.id), logs
        )
        self._remember(metrics[-1].step if metrics else self._detail_step, logs)
        self.detail_delta.emit(delta)

    def _remember(self, step: int, logs: list[Any]) -> None:
        self._detail_step = step
        self._detail_event = logs[-1].id if logs else self._detail_event

    # -- actions ----------------------------------------------------------------

    @Slot(object)
    def submit(self, spec: TrainSpec) -> None:
        assert self.client is not None
        try:
            job_id = self.client.submit(spec)
        except (GenqueueError, redis.RedisError) as exc:
            self.submit_failed.emit(str(exc))
            return
        self.submitted.emit(job_id)
        self.jobs_changed.emit([self.client.store.get_job(job_id)])

    @Slot(str)
    def cancel(self, job_id: str) -> None:
        self._act(lambda client: client.cancel(job_id), job_id)

    @Slot(str)
    def retry(self, job_id: str) -> None:
        assert self.client is not None
        try:
            new_id = self.client.retry(job_id)
        except (GenqueueError, redis.RedisError) as exc:
            self.action_failed.emit(f"Could not retry job {job_id[:8]}: {exc}")
            return
        self.submitted.emit(new_id)
        self.jobs_changed.emit([self.client.store.get_job(new_id)])

    @Slot(object)
    def generate(self, spec: GenerateSpec) -> None:
        assert self.client is not None
        try:
            job_id = self.client.submit_generate(spec)
        except (GenqueueError, redis.RedisError) as exc:
            self.submit_failed.emit(str(exc))
            return
        self.submitted.emit(job_id)

    @Slot(str, int)
    def train_more(self, job_id: str, epochs: int) -> None:
        assert self.client is not None
        try:
            new_id = self.client.train_more(job_id, epochs)
        except (GenqueueError, redis.RedisError) as exc:
            self.action_failed.emit(f"Could not continue job {job_id[:8]}: {exc}")
            return
        self.submitted.emit(new_id)

    @Slot(str)
    def delete(self, job_id: str) -> None:
        assert self.client is not None
        try:
            self.client.delete(job_id)
        except (GenqueueError, redis.RedisError) as exc:
            self.action_failed.emit(f"Could not delete job {job_id[:8]}: {exc}")
            return
        self.job_removed.emit(job_id)

    @Slot(str, str)
    def rename(self, job_id: str, name: str) -> None:
        self._act(lambda client: client.store.rename_job(job_id, name), job_id)

    def _act(self, action: Any, job_id: str) -> None:
        assert self.client is not None
        try:
            action(self.client)
        except (GenqueueError, redis.RedisError) as exc:
            self.action_failed.emit(str(exc))
            return
        self.jobs_changed.emit([self.client.store.get_job(job_id)])

    @Slot(str)
    def test_connection(self, url: str) -> None:
        """Ping a broker URL without changing the one in use."""
        probe = Settings.load(home=self.settings.home, broker_url=url)
        try:
            connect_redis(probe, timeout=3).close()
        except (GenqueueError, redis.RedisError) as exc:
            self.test_result.emit(False, str(exc))
            return
        self.test_result.emit(True, f"Connected to {redact(url)}.")
