"""The client side of genqueue: submit, cancel, and keep the history up to date.

The command line and the desktop app both go through this class; it owns the SQLite
history and the connection to the broker, and nothing here blocks for long unless
asked to wait.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from functools import cached_property

import redis
from celery import Celery

from shared.datasets import check_worker_reference, detect_dataset
from shared.errors import BrokerError, SpecError
from shared.events import (
    STREAM_RETENTION_SECONDS,
    TERMINAL,
    Event,
    cancel_key,
    lease_key,
)
from shared.generation import GenerateSpec, check_mode_fits
from shared.history import HistoryStore, JobView
from shared.ingest import Ingestor
from shared.queue import (
    GENERATE_TASK,
    TRAIN_TASK,
    broker_url,
    connect_redis,
    make_celery,
)
from shared.queue_check import QueueCheck, is_not_in_queue
from shared.settings import Settings, redact
from shared.spec import LIMITS, TrainSpec

logger = logging.getLogger(__name__)

RETRY_SECONDS = 3
# While following a queued job, look this often whether the broker still holds it.
QUEUE_CHECK_SECONDS = 5


class Client:
    """One user's view of the queue and their job history."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def store(self) -> HistoryStore:
        return HistoryStore.open(self.settings.db_path)

    @cached_property
    def redis(self) -> redis.Redis:
        return connect_redis(self.settings)

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.store, self.redis, self.settings.images_dir)

    @cached_property
    def queue_check(self) -> QueueCheck:
        return QueueCheck(self.ingestor)

    @cached_property
    def celery(self) -> Celery:
        """The app that sends jobs; kept, since a new one connects anew each time."""
        return make_celery(self.settings)

    def reset_connection(self) -> None:
        """Forget the broker connection, so the next use connects afresh."""
        for name in ("redis", "ingestor", "queue_check"):
            self.__dict__.pop(name, None)
        celery = self.__dict__.pop("celery", None)
        if celery is not None:
            celery.close()

    def submit(self, spec: TrainSpec, *, check_dataset: bool = True) -> str:
        """Record the job, then put it on the queue; return its id."""
        if check_dataset:
            spec = spec.model_copy(
                update={"dataset": detect_dataset(spec.dataset).canonical()}
            )
        # The worker takes only names and absolute paths; say so before queueing.
        check_worker_reference(spec.dataset)
        return self._record_and_send(spec, TRAIN_TASK)

    def submit_generate(self, spec: GenerateSpec) -> str:
        """Record a generation job from a finished training job, then queue it."""
        source = self._finished_training_job(spec.source, "draw from")
        if not self.store.epoch_means(source.id):
            raise SpecError(
                f"Job {source.id[:8]} finished no epoch, so it has no model to draw "
                "from; pick a trained job."
            )
        check_mode_fits(spec, source.model)
        return self._record_and_send(spec, GENERATE_TASK, source)

    def _record_and_send(
        self, spec: TrainSpec | GenerateSpec, task: str, source: JobView | None = None
    ) -> str:
        """Write the job to the history, then queue it; undo the row if that fails."""
        self.redis  # noqa: B018 - fail before anything is written if Redis is down
        job_id = str(uuid.uuid4())
        if source is not None and isinstance(spec, GenerateSpec) and not spec.name:
            label = f"{spec.mode} from {source.name or source.id[:8]}"
            spec = spec.model_copy(update={"name": label})
        self.store.add_job(job_id, spec.to_json(), source=source)
        try:
            self._send(job_id, spec, task)
        except Exception as exc:
            self.store.delete_job(job_id)
            url = redact(broker_url(self.settings))
            raise BrokerError(
                f"Could not queue the job on {url}: {exc}. Nothing was submitted."
            ) from None
        logger.info("job %s queued", job_id)
        return job_id

    def _send(self, job_id: str, spec: TrainSpec | GenerateSpec, task: str) -> None:
        try:
            self.celery.send_task(
                task, args=[job_id, spec.to_json()], task_id=job_id, retry=False
            )
        except Exception:
            # A connection the broker dropped is not reused for the next job.
            self.reset_connection()
            raise

    def cancel(self, ref: str) -> JobView:
        """Ask the job's worker to stop it, or keep it from ever starting."""
        job = self.store.get_job(ref)
        if job.status in TERMINAL:
            return job
        self.redis.set(cancel_key(job.id), "1", ex=STREAM_RETENTION_SECONDS)
        if not self.redis.exists(lease_key(job.id)):
            # No worker holds it, so none will report the end: say it on the job's
            # stream ourselves, and the worker that later takes it will drop it.
            when = "before it started" if job.step == 0 else "while no worker ran it"
            event = Event(
                "state", {"status": "cancelled", "error": f"Cancelled {when}."}
            )
            self.ingestor.announce(job.id, event)
        self.ingestor.catch_up()
        return self.store.get_job(job.id)

    def retry(self, ref: str) -> str:
        """Submit the job's spec again as a new job; return the new id.

        A job the broker lost is cancelled once its copy is queued, so that it
        cannot run as well should its message turn up after all.
        """
        job = self.store.get_job(ref)
        if job.status in {"queued", "running"}:
            raise SpecError(
                f"Job {job.id[:8]} is still {job.status}; retry it once it has "
                f"ended, or cancel it first with `genqueue cancel {job.id[:8]}`. "
                "`genqueue sync` checks that queued jobs are still in the queue."
            )
        if job.kind == "generate":
            new_id = self.submit_generate(GenerateSpec.from_json(job.spec))
        else:
            new_id = self.submit(TrainSpec.from_json(job.spec), check_dataset=False)
        if is_not_in_queue(job):
            # Should the lost message turn up after all, the worker drops it.
            self.redis.set(cancel_key(job.id), "1", ex=STREAM_RETENTION_SECONDS)
            text = (
                f"Not in the queue; submitted again as {new_id[:8]}, so this one "
                "is cancelled and cannot also run."
            )
            event = Event("state", {"status": "cancelled", "error": text})
            self.ingestor.announce(job.id, event)
        return new_id

    def train_more(self, ref: str, epochs: int) -> str:
        """Submit a job that continues this one's last checkpoint for more epochs."""
        job = self._finished_training_job(ref, "continue")
        if epochs < 1:
            raise SpecError(
                f"--epochs counts the epochs to add: at least 1, got {epochs}."
            )
        # The checkpoint is at the last epoch that ended, not the one in progress.
        done = max((epoch for epoch, _ in self.store.epoch_means(job.id)), default=0)
        if done < 1:
            raise SpecError(
                f"Job {job.id[:8]} finished no epoch, so it left no checkpoint to "
                "continue; submit it again instead."
            )
        limit = int(LIMITS["epochs"][1])
        if done + epochs > limit:
            raise SpecError(
                f"--epochs {epochs} would take job {job.id[:8]} from epoch {done} to "
                f"{done + epochs}, past the limit of {limit} epochs in all; add at "
                f"most {limit - done}."
            )
        fields = {"epochs": done + epochs, "resume_from": job.id}
        name = f"{job.name or job.id[:8]} +{epochs}"
        spec = TrainSpec.from_json({**job.spec, **fields, "name": name})
        return self.submit(spec, check_dataset=False)

    def _finished_training_job(self, ref: str, verb: str) -> JobView:
        """The training job ``ref``, refused when it is of another kind or not done."""
        job = self.store.get_job(ref)
        if job.kind != "train":
            raise SpecError(
                f"Job {job.id[:8]} is a {job.kind} job; only a training job's model "
                f"can {verb}."
            )
        if job.status not in TERMINAL:
            raise SpecError(
                f"Job {job.id[:8]} is still {job.status}; {verb} it once it has ended."
            )
        return job

    def delete(self, ref: str) -> None:
        """Cancel the job if it may still run, then forget it and its local images."""
        job = self.store.get_job(ref)
        if job.status not in TERMINAL:
            self.cancel(job.id)
        self.store.delete_job(job.id)
        shutil.rmtree(self.settings.images_dir / job.id, ignore_errors=True)

    def sync(self) -> str | None:
        """Store what the broker holds now and flag queued jobs it no longer holds.

        Returns why not if the broker cannot be reached. Takes a few seconds more
        when a queued job is missing, to tell a lost job from one on its way.
        """
        try:
            self.ingestor.catch_up()
            self.queue_check.run()
        except (BrokerError, redis.RedisError) as exc:
            return str(exc)
        return None

    def wait(
        self,
        ref: str,
        on_update: Callable[[JobView], None] | None = None,
        timeout: float | None = None,
    ) -> JobView:
        """Follow the job until it ends, calling on_update as its events arrive.

        Also returns once the job turns out not to be in the queue, since it would
        never end.
        """
        job_id = self.store.get_job(ref).id
        deadline = None if timeout is None else time.monotonic() + timeout
        checked = time.monotonic()
        while True:
            self._poll_or_wait_for_broker()
            if time.monotonic() - checked >= QUEUE_CHECK_SECONDS:
                checked = time.monotonic()
                self._look_for_lost_jobs()
            job = self.store.get_job(job_id)
            if on_update is not None:
                on_update(job)
            if job.status in TERMINAL or is_not_in_queue(job):
                return job
            if deadline is not None and time.monotonic() > deadline:
                return job

    def _look_for_lost_jobs(self) -> None:
        try:
            self.queue_check.look()
        except (BrokerError, redis.RedisError) as exc:
            # The next poll says the broker is away and waits for it.
            logger.debug("could not check the queue: %s", exc)

    def _poll_or_wait_for_broker(self) -> None:
        """Read new events; while the broker is away, keep trying every few seconds."""
        try:
            self.ingestor.poll(block_ms=500)
        except (BrokerError, redis.RedisError) as exc:
            logger.warning("lost the broker, retrying in %d s: %s", RETRY_SECONDS, exc)
            self.reset_connection()
            time.sleep(RETRY_SECONDS)
