"""The workers online, as they announce themselves in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from shared.events import worker_key


@dataclass(frozen=True)
class WorkerInfo:
    """One worker's latest announcement."""

    hostname: str
    queue: str
    device: str
    current_job: str
    pid: int
    heartbeat: float


def list_workers(client: redis.Redis) -> list[WorkerInfo]:
    """Every worker whose announcement has not expired, by name."""
    keys: Any = list(client.scan_iter(match=worker_key("*"), count=100))
    pipe = client.pipeline()
    for key in keys:
        pipe.hgetall(key)
    found = [_parse(fields) for fields in pipe.execute() if fields]
    return sorted(found, key=lambda worker: worker.hostname)


def _parse(fields: dict[bytes, bytes]) -> WorkerInfo:
    text = {k.decode(): v.decode() for k, v in fields.items()}
    return WorkerInfo(
        hostname=text.get("hostname", "?"),
        queue=text.get("queue", "?"),
        device=text.get("device", "?"),
        current_job=text.get("current_job", ""),
        pid=int(text.get("pid", 0)),
        heartbeat=float(text.get("heartbeat", 0)),
    )
