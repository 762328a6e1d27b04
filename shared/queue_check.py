"""Find jobs the history calls queued that the broker no longer holds.

Kombu's Redis transport keeps a queue's waiting messages in a list named after the
queue (priorities get lists of their own, with a suffix), and a message delivered to
a worker in the ``unacked`` hash until its job ends. A queued job whose message is
in neither, with no lease, claim or end mark either, will never run: Redis lost its
data, or someone purged the queue. Such a job is marked interrupted, with a reason
that says how to submit it again.

A message moves from its list to ``unacked`` in two steps, and a client records a
job a moment before it sends it, so one look is not enough: a job is flagged only
when it is missing at two looks at least a second apart, and once it is a few
seconds old. It is marked interrupted rather than failed, so that if a worker runs
it after all, its own events put it right.

Does not yet look for running or interrupted jobs whose message is gone.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import redis

from shared.events import CLAIMS_KEY, done_key, lease_key
from shared.history import JobView
from shared.ingest import Ingestor

logger = logging.getLogger(__name__)

UNACKED_KEY = "unacked"
# A client records a job just before it sends the message; give the send this long.
GRACE_SECONDS = 5.0
# Between two looks, so a message on its way from its list to `unacked` is seen.
SETTLE_SECONDS = 1.0
NOT_IN_QUEUE = "Not in the queue"


def not_in_queue_reason(job_id: str) -> str:
    """The reason a flagged job carries, with the command that submits it again."""
    return (
        f"{NOT_IN_QUEUE}: the broker holds no message for this job (Redis lost its "
        "data, or the queue was purged), so no worker will run it. Submit it again "
        f"with `genqueue retry {job_id[:8]}` or Retry in the app."
    )


def is_not_in_queue(job: JobView) -> bool:
    """Whether the job was flagged by this check and still waits for a retry."""
    return job.status == "interrupted" and (job.error or "").startswith(NOT_IN_QUEUE)


def task_ids_in_broker(client: redis.Redis) -> set[str]:
    """The task ids of every message waiting in a queue or delivered and unacked."""
    ids: set[str] = set()
    lists = list(client.scan_iter(_type="list", count=1000))
    # One MULTI, so a message moving between a list and `unacked` is seen in one.
    with client.pipeline() as pipe:
        for key in lists:
            pipe.lrange(key, 0, -1)
        pipe.hvals(UNACKED_KEY)
        *waiting, delivered = pipe.execute()
    for raw in (message for messages in waiting for message in messages):
        ids.add(_task_id(_loads(raw)))
    for raw in delivered:
        entry = _loads(raw)
        # An unacked entry is [message, exchange, routing key].
        ids.add(_task_id(entry[0] if isinstance(entry, list) and entry else None))
    ids.discard("")
    return ids


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _task_id(message: Any) -> str:
    """Celery's task id from a kombu message, or "" for anything else."""
    if not isinstance(message, dict):
        return ""
    headers = message.get("headers") or {}
    properties = message.get("properties") or {}
    return str(headers.get("id") or properties.get("correlation_id") or "")


class QueueCheck:
    """Flags queued jobs the broker lost, over two looks; see the module docstring."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        # Job id -> when (time.monotonic) it may be flagged if still missing.
        self._pending: dict[str, float] = {}

    def look(self) -> list[str]:
        """Look once; flag the jobs that were missing before and still are."""
        now = time.monotonic()
        pending, flagged = {}, []
        for job in self._missing():
            due = self._pending.get(job.id)
            if due is not None and now >= due:
                flagged.append(job.id)
                continue
            wait = max(SETTLE_SECONDS, GRACE_SECONDS - _age(job))
            pending[job.id] = due if due is not None else now + wait
        self._pending = pending
        for job_id in flagged:
            self.ingestor.store.mark_interrupted(
                job_id, not_in_queue_reason(job_id), was="queued"
            )
            logger.info("job %s is not in the queue", job_id)
        return flagged

    def run(self) -> list[str]:
        """Look, and look again once the jobs seen missing can be decided."""
        flagged = self.look()
        if self._pending:
            time.sleep(max(0.0, max(self._pending.values()) - time.monotonic()))
            flagged += self.look()
        return flagged

    def _missing(self) -> list[JobView]:
        """Queued jobs of which the broker holds no message and no other trace."""
        self.ingestor.catch_up()
        queued = self.ingestor.store.list_jobs(status="queued")
        if not queued:
            return []
        held = task_ids_in_broker(self.ingestor.client)
        candidates = [job for job in queued if job.id not in held]
        traces = self._traces([job.id for job in candidates])
        return [job for job in candidates if not traces[job.id]]

    def _traces(self, job_ids: list[str]) -> dict[str, bool]:
        """Whether a worker runs, has claimed or has finished each job."""
        with self.ingestor.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.exists(lease_key(job_id), done_key(job_id))
                pipe.hexists(CLAIMS_KEY, job_id)
            replies = pipe.execute()
        pairs = zip(replies[::2], replies[1::2], strict=True)
        return {
            job_id: bool(keys or claimed)
            for job_id, (keys, claimed) in zip(job_ids, pairs, strict=True)
        }


def _age(job: JobView) -> float:
    return (datetime.now(UTC) - job.submitted_at).total_seconds()
