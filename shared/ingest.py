"""Bring events from the per-job Redis Streams into the client's SQLite history.

Each pass reads every followed job's stream from the position stored in SQLite and
hands the entries to the store, which writes them and the new position in one
transaction. A client stopped at any moment and started again therefore ends with
every event exactly once.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from shared.events import Event, cancel_key, lease_key, stream_key
from shared.history import HistoryStore

logger = logging.getLogger(__name__)

BATCH = 1000


class Ingestor:
    """Follows the streams of unfinished jobs and stores what arrives."""

    def __init__(
        self, store: HistoryStore, client: redis.Redis, images_root: Path
    ) -> None:
        self.store = store
        self.client = client
        self.images_root = images_root

    def poll(self, block_ms: int | None = None) -> set[str]:
        """Store what is new, waiting up to block_ms for it; return the jobs changed."""
        follow = dict(self.store.jobs_to_follow())
        if not follow:
            return set()
        changed = self._read_and_apply(follow, block_ms)
        return changed | self._check_leases()

    def catch_up(self) -> set[str]:
        """Store everything available now, without waiting; return the jobs changed.

        Leases are looked at once, after the last batch, not after every batch.
        """
        changed: set[str] = set()
        while follow := dict(self.store.jobs_to_follow()):
            batch = self._read_and_apply(follow, None)
            if not batch:
                break
            changed |= batch
        return changed | self._check_leases()

    def _read_and_apply(self, follow: dict[str, str], block_ms: int | None) -> set[str]:
        streams: dict[Any, Any] = {stream_key(j): last for j, last in follow.items()}
        replies: Any = self.client.xread(streams, count=BATCH, block=block_ms)
        if not replies:
            return set()
        with _collector_paused():
            batches = {
                key.decode().rsplit(":", 1)[-1]: [
                    (sid.decode(), Event.from_fields(fields)) for sid, fields in entries
                ]
                for key, entries in replies
            }
            counts = self.store.apply_batches(batches, self.images_root)
        logger.debug("stored %d events of %d jobs", sum(counts.values()), len(counts))
        return {job_id for job_id, count in counts.items() if count}

    def _check_leases(self) -> set[str]:
        """Mark running jobs whose worker stopped renewing its lease as interrupted."""
        changed = set()
        for job in self.store.list_jobs(status="running"):
            if self.client.exists(lease_key(job.id)):
                continue
            # The worker writes its last event before it lets the lease go, so read
            # once more before deciding the job was abandoned.
            last = dict(self.store.jobs_to_follow()).get(job.id, "0-0")
            self._read_and_apply({job.id: last}, None)
            changed.add(job.id)
            if self.store.get_job(job.id).status != "running":
                continue
            if self.client.exists(cancel_key(job.id)):
                # Cancelled as its worker died: no worker will say so, and none
                # will run it again.
                text = f"Cancelled; worker {job.worker or '?'} was lost at step {job.step}."
                self.announce(
                    job.id, Event("state", {"status": "cancelled", "error": text})
                )
            else:
                reason = (
                    f"Worker {job.worker or '?'} stopped renewing its lease at step "
                    f"{job.step}; the next worker to look resumes the job from its "
                    "last checkpoint."
                )
                self.store.mark_interrupted(job.id, reason)
                logger.warning("job %s interrupted: %s", job.id, reason)
        return changed

    def announce(self, job_id: str, event: Event) -> None:
        """Put an event on the job's stream for a worker that cannot, and store it."""
        self.client.xadd(stream_key(job_id), event.to_fields())  # type: ignore[arg-type]
        last = dict(self.store.jobs_to_follow()).get(job_id, "0-0")
        self._read_and_apply({job_id: last}, None)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while one batch is parsed and stored.

    A batch makes thousands of small objects that live until it is stored. Each
    collection the allocations set off would walk all of them, and the older
    generations they were pushed into, up to the whole heap of a process that
    holds Qt or torch; the few cycles a batch leaves are collected after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
