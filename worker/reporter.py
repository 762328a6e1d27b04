"""Send a job's events to its Redis Stream without slowing the training loop.

The loop only appends to an in-memory buffer. A background thread sends the buffer
a few times a second in one pipeline, renews the job's lease and reads its
cancellation flag. Per-step losses are gathered into one ``metrics`` event per send,
so a chart gets a few updates a second however fast the steps are. If Redis is
unreachable the buffer is kept and sent once it is back.

While the job runs it also has a claim in Redis: its task, spec and queue, which
another worker uses to put it back on the queue if this one vanishes (see
worker/recovery.py). A run that finds its lease taken or expired has been given up
for lost, so it stops and sends nothing more: the job is already on its way to
another worker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import redis

from shared.events import (
    CLAIMS_KEY,
    HEARTBEAT_SECONDS,
    LEASE_SECONDS,
    STREAM_RETENTION_SECONDS,
    Event,
    cancel_key,
    done_key,
    lease_key,
    sent_key,
    stream_key,
)

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25

# Renew the lease only while the job is still this run's. A lease that lapsed while
# the claim is still ours (a stall longer than the lease, say) is taken again; once
# another worker has taken the claim to requeue the job, the run is lost.
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
    return redis.call('expire', KEYS[1], ARGV[2])
end
if holder then
    return 0
end
local claim = redis.call('hget', KEYS[2], ARGV[3])
if claim and cjson.decode(claim)['holder'] == ARGV[1] then
    redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
    return 1
end
return 0
"""


class Reporter:
    """The worker's side of one job's event stream, lease and cancel flag."""

    def __init__(
        self,
        client: redis.Redis,
        job_id: str,
        holder: str,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.client = client
        self.job_id = job_id
        self.holder = holder
        # Names this run in the stream's sent count; see _send.
        self._run_id = uuid.uuid4().hex
        self._sent = 0
        self.lease_seconds = lease_seconds
        self._renew = client.register_script(_RENEW)
        self._events: list[Event] = []
        self._rows: list[dict[str, Any]] = []
        self._progress: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cancelled = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"reporter-{job_id[:8]}", daemon=True
        )

    # -- claiming the job ---------------------------------------------------------

    def acquire(self, claim: dict[str, Any]) -> str | None:
        """Take the job's lease and record its claim; return why not when the job
        is not ours to run."""
        if self.client.exists(done_key(self.job_id)):
            return "it has already finished"
        if self.client.exists(cancel_key(self.job_id)):
            return "it was cancelled"
        if not self.client.set(
            lease_key(self.job_id), self.holder, nx=True, ex=self.lease_seconds
        ):
            holder: Any = self.client.get(lease_key(self.job_id))
            return f"{(holder or b'?').decode()} holds its lease"
        record = {**claim, "holder": self.holder, "since": time.time()}
        self.client.hset(CLAIMS_KEY, self.job_id, json.dumps(record))
        self._thread.start()
        return None

    def is_cancelled(self) -> bool:
        return self._cancelled.is_set()

    def is_lost(self) -> bool:
        """Whether this run's lease lapsed, so the job was handed to another worker."""
        return self._lost.is_set()

    # -- what the training loop calls ---------------------------------------------

    def emit(
        self, type_: str, payload: dict[str, Any], png: bytes | None = None
    ) -> None:
        with self._lock:
            self._take_rows()
            self._events.append(Event(type_, payload, png=png))  # type: ignore[arg-type]

    def step(self, row: dict[str, Any], progress: dict[str, Any]) -> None:
        """Record one training step; sent with the next batch."""
        with self._lock:
            self._rows.append(row)
            self._progress = progress

    # -- ending -------------------------------------------------------------------

    def finish(
        self, status: str, payload: dict[str, Any], timeout: float = 60.0
    ) -> None:
        """Send the final state and everything before it, then let the lease go.

        A run that lost its lease sends nothing: the job's next run reports for it.
        """
        self.emit("state", {"status": status, **payload})
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.is_lost():
            logger.warning(
                "job %s: lease lost, so its %r end is not reported", self.job_id, status
            )
            return
        deadline = time.monotonic() + timeout
        while not self._flush() and time.monotonic() < deadline:
            time.sleep(0.5)
        self._close_stream(status)

    def _close_stream(self, status: str) -> None:
        try:
            pipe = self.client.pipeline()
            if status in {"succeeded", "failed", "cancelled"}:
                pipe.set(done_key(self.job_id), status, ex=STREAM_RETENTION_SECONDS)
            pipe.expire(stream_key(self.job_id), STREAM_RETENTION_SECONDS)
            pipe.hdel(CLAIMS_KEY, self.job_id)
            pipe.delete(lease_key(self.job_id))
            pipe.execute()
        except redis.RedisError:
            logger.warning(
                "could not close the stream of job %s; its lease will expire",
                self.job_id,
            )

    # -- the background thread ----------------------------------------------------

    def _run(self) -> None:
        last_beat = 0.0
        while not self._stop.wait(FLUSH_SECONDS) and not self.is_lost():
            self._flush()
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic() if self._heartbeat() else last_beat

    def _take_rows(self) -> None:
        """Turn gathered steps into events, keeping them in order with the rest."""
        if self._rows:
            self._events.append(Event("metrics", {"rows": self._rows}))
            self._rows = []
        if self._progress is not None:
            self._events.append(Event("progress", self._progress))
            self._progress = None

    def _flush(self) -> bool:
        with self._lock:
            self._take_rows()
            batch, self._events = self._events, []
        if not batch or self.is_lost():
            return True
        try:
            self._send(batch)
            return True
        except redis.RedisError as exc:
            logger.warning(
                "cannot send %d events of job %s yet: %s", len(batch), self.job_id, exc
            )
            with self._lock:
                self._events[:0] = batch
            return False

    def _send(self, batch: list[Event]) -> None:
        """Append the events of ``batch`` that are not on the stream yet.

        A send whose reply was lost may still have landed, and the batch then comes
        back from the buffer. So each send also records this run's running total in
        the sent count, in the same MULTI/EXEC, and the next send skips what that
        count says has landed. The WATCH also keeps redis-py from repeating a
        transaction by itself after a lost reply.
        """
        with self.client.pipeline() as pipe:
            pipe.watch(sent_key(self.job_id))
            recorded: Any = pipe.get(sent_key(self.job_id))
            run, _, count = (recorded or b"").decode().partition(" ")
            landed = int(count) if run == self._run_id else self._sent
            missing = batch[landed - self._sent :]
            pipe.multi()
            for event in missing:
                pipe.xadd(stream_key(self.job_id), event.to_fields())  # type: ignore[arg-type]
            total = landed + len(missing)
            mark = f"{self._run_id} {total}"
            pipe.set(sent_key(self.job_id), mark, ex=STREAM_RETENTION_SECONDS)
            pipe.execute()
        self._sent = total

    def _heartbeat(self) -> bool:
        try:
            keys = [lease_key(self.job_id), CLAIMS_KEY]
            args: list[str | int] = [self.holder, self.lease_seconds, self.job_id]
            renewed = self._renew(keys=keys, args=args)
            cancelled = self.client.exists(cancel_key(self.job_id))
        except redis.RedisError as exc:
            logger.warning("cannot renew the lease of job %s: %s", self.job_id, exc)
            return False
        if not renewed:
            logger.error(
                "job %s: lease lapsed, so another worker may run it; stopping this run",
                self.job_id,
            )
            self._lost.set()
        if cancelled:
            self._cancelled.set()
        return True
