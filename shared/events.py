"""The events a worker reports and the Redis keys that carry them.

Every job has one Redis Stream. The worker appends events in order; a client reads
from the position it last stored, so nothing is missed and nothing is stored twice.
An event is a type, a time and a small JSON payload; sample images travel as PNG bytes
beside the payload.

Event types and their payloads:
    state     {"status": ..., plus "device", "worker", "dataset" on "running",
               "error" on "failed", "outputs" on "succeeded"}
    progress  {"epoch", "epochs", "step", "steps_per_epoch", "images_per_second"}
    metrics   {"rows": [{"epoch", "step", <loss name>: value, ...}, ...]}
              one row per training step, batched
    epoch     {"epoch", "means": {<loss name>: mean over the epoch}}
    image     {"epoch", "name": "samples" | "reconstructions", "width", "height"}
              with the PNG in the entry's "png" field
    log       {"level", "message"}
    error     {"message", "traceback"}
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["state", "progress", "metrics", "epoch", "image", "log", "error"]

Status = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
STATUSES: tuple[str, ...] = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "interrupted",
)
# Stored events a person reads as the job's log.
LOG_TYPES = ("state", "log", "error")
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})

# A worker renews its lease this often; a lease missing for longer than its lifetime
# means the worker is gone.
LEASE_SECONDS = 30
HEARTBEAT_SECONDS = 2
# Every job a worker is running has an entry here (job id -> its task, spec and
# queue), so another worker can put a job whose worker vanished back on the queue.
CLAIMS_KEY = "genqueue:claims"
# Streams of finished jobs stay this long, so a client that was away can catch up.
STREAM_RETENTION_SECONDS = 30 * 24 * 3600


def stream_key(job_id: str) -> str:
    return f"genqueue:events:{job_id}"


def lease_key(job_id: str) -> str:
    return f"genqueue:lease:{job_id}"


def cancel_key(job_id: str) -> str:
    return f"genqueue:cancel:{job_id}"


def done_key(job_id: str) -> str:
    return f"genqueue:done:{job_id}"


def sent_key(job_id: str) -> str:
    """How many events the job's current run has put on its stream, and which run."""
    return f"genqueue:sent:{job_id}"


def losses_key(job_id: str) -> str:
    """How many of the job's runs ended with their worker gone."""
    return f"genqueue:losses:{job_id}"


def worker_key(hostname: str) -> str:
    return f"genqueue:worker:{hostname}"


@dataclass(frozen=True)
class Event:
    """One thing that happened to a job, as it travels through Redis."""

    type: EventType
    payload: dict[str, Any]
    time: float = field(default_factory=time.time)
    png: bytes | None = None
    # The payload's JSON as it was read from a stream, so storing it costs no
    # second encoding.
    _payload_text: str | None = field(default=None, compare=False, repr=False)

    def payload_text(self) -> str:
        """The payload as compact JSON."""
        if self._payload_text is not None:
            return self._payload_text
        return json.dumps(self.payload, separators=(",", ":"))

    def to_fields(self) -> dict[str, str | bytes | float]:
        fields: dict[str, str | bytes | float] = {
            "type": self.type,
            "time": repr(self.time),
            "payload": self.payload_text(),
        }
        if self.png is not None:
            fields["png"] = self.png
        return fields

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Event:
        text = fields[b"payload"].decode()
        return cls(
            type=fields[b"type"].decode(),  # type: ignore[arg-type]
            payload=json.loads(text),
            time=float(fields[b"time"]),
            png=fields.get(b"png"),
            _payload_text=text,
        )
