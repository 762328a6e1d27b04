"""Put back on the queue the jobs whose worker vanished in the middle of a run.

A worker killed outright (the kernel's out-of-memory killer, a power cut) acknowledges
nothing, and Redis would hand its message to another worker only after the visibility
timeout, which is days long so that no long job is ever handed out twice. Instead,
every running job keeps a claim in Redis beside its lease; each worker looks over the
claims every few seconds, and the first to find one whose lease has lapsed takes it,
writes to the job's stream that the run was lost and at which step, and sends the job
again. The next run resumes from the job's last checkpoint.

A job that keeps losing its worker is the likelier culprit (it exhausts the
machine's memory, say), so after ``max_attempts`` lost runs it is failed instead of
being handed to yet another machine.

A worker that dies between taking a claim and sending the job again leaves the job
interrupted; its original message still returns after the visibility timeout, and
the person can retry it at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import redis

from shared.events import (
    CLAIMS_KEY,
    STREAM_RETENTION_SECONDS,
    Event,
    cancel_key,
    done_key,
    lease_key,
    losses_key,
    stream_key,
)

logger = logging.getLogger(__name__)

# How far back in a job's stream to look for the last step it reported.
_TAIL = 200

# Take the claim only if its lease is gone, atomically, so that of all the workers
# sweeping at once exactly one recovers the job, and never one still running.
_TAKE = """
if redis.call('exists', KEYS[2]) == 1 then
    return false
end
local claim = redis.call('hget', KEYS[1], ARGV[1])
if claim then
    redis.call('hdel', KEYS[1], ARGV[1])
end
if redis.call('exists', KEYS[3]) == 1 then
    return false
end
return claim
"""

Send = Callable[[str, str, Any, str], None]


class Recovery:
    """One worker's share of looking after jobs whose workers vanished.

    ``send(task, job_id, spec, queue)`` puts a job back on its queue.
    """

    def __init__(self, client: redis.Redis, send: Send, max_attempts: int) -> None:
        self.client = client
        self.send = send
        self.max_attempts = max_attempts
        self._take = client.register_script(_TAKE)

    def sweep(self) -> list[str]:
        """Recover every job whose lease has lapsed; return their ids."""
        try:
            claims: Any = self.client.hkeys(CLAIMS_KEY)
        except redis.RedisError as exc:
            logger.warning("cannot look for lost jobs: %s", exc)
            return []
        recovered = []
        for raw_id in claims:
            job_id = raw_id.decode()
            try:
                if self._recover(job_id):
                    recovered.append(job_id)
            except redis.RedisError as exc:
                logger.warning("cannot recover job %s yet: %s", job_id, exc)
        return recovered

    def _recover(self, job_id: str) -> bool:
        keys = [CLAIMS_KEY, lease_key(job_id), done_key(job_id)]
        raw = self._take(keys=keys, args=[job_id])
        if raw is None:
            return False
        claim = json.loads(raw)
        losses = int(self.client.incr(losses_key(job_id)))
        self.client.expire(losses_key(job_id), STREAM_RETENTION_SECONDS)
        step = self.last_step(job_id)
        limit = int(claim.get("max_attempts") or self.max_attempts)
        where = f"at step {step}" if step else "before its first step"
        holder = claim.get("holder", "?")
        if self.client.exists(cancel_key(job_id)):
            # Cancelled while its worker was dying: nobody else will say it ended.
            self._end(
                job_id, "cancelled", f"Cancelled; worker {holder} was lost {where}."
            )
            return True
        if losses >= limit:
            error = (
                f"Worker lost {losses} times, last at step {step} ({holder}); "
                f"not tried again, as max_attempts is {limit}. A job that kills its "
                "worker each time is often out of memory: try a smaller batch size."
            )
            self._end(job_id, "failed", error)
            logger.error("job %s failed: %s", job_id, error)
            return True
        error = (
            f"Worker {holder} was lost {where} ({losses} of {limit} tries); "
            "the job is back on the queue and resumes from its last checkpoint."
        )
        self._end(job_id, "interrupted", error)
        self.send(claim["task"], job_id, claim["spec"], claim["queue"])
        logger.warning("job %s requeued: %s", job_id, error)
        return True

    def last_step(self, job_id: str) -> int:
        """The last training step the job's stream reports, or 0."""
        entries: Any = self.client.xrevrange(stream_key(job_id), count=_TAIL)
        for _, fields in entries:
            event = Event.from_fields(fields)
            if event.type == "progress":
                return int(event.payload.get("step", 0))
            if event.type == "metrics" and event.payload.get("rows"):
                return int(event.payload["rows"][-1].get("step", 0))
        return 0

    def _end(self, job_id: str, status: str, error: str) -> None:
        event = Event("state", {"status": status, "error": error})
        pipe = self.client.pipeline()
        pipe.xadd(stream_key(job_id), event.to_fields())  # type: ignore[arg-type]
        if status != "interrupted":
            pipe.set(done_key(job_id), status, ex=STREAM_RETENTION_SECONDS)
            pipe.expire(stream_key(job_id), STREAM_RETENTION_SECONDS)
        pipe.execute()
