"""Jobs whose worker vanished go back on the queue once, or fail after too many tries."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import redis

from shared.events import (
    CLAIMS_KEY,
    Event,
    cancel_key,
    done_key,
    lease_key,
    losses_key,
    stream_key,
)
from shared.redis_server import EmbeddedRedis
from worker.recovery import Recovery
from worker.reporter import Reporter

SPEC = {"model": "vae", "dataset": "digits", "epochs": 3}
CLAIM = {"task": "genqueue.train", "spec": SPEC, "queue": "gpu"}


@pytest.fixture
def client(redis_server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


class Outbox:
    """Records what a Recovery sends, as a queue would receive it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any, str]] = []

    def __call__(self, task: str, job_id: str, spec: Any, queue: str) -> None:
        self.sent.append((task, job_id, spec, queue))


def vanished_run(
    client: redis.Redis, job_id: str, step: int, max_attempts: int = 3
) -> str:
    """Leave in Redis what a worker killed at `step` leaves: a claim, no lease."""
    claim = {**CLAIM, "max_attempts": max_attempts, "holder": "lost@host 1"}
    client.hset(CLAIMS_KEY, job_id, json.dumps(claim))
    progress = Event("progress", {"epoch": 1, "step": step})
    client.xadd(stream_key(job_id), progress.to_fields())  # type: ignore[arg-type]
    return job_id


def states(client: redis.Redis, job_id: str) -> list[dict[str, Any]]:
    entries = client.xrange(stream_key(job_id))
    events = [Event.from_fields(fields) for _, fields in entries]
    return [e.payload for e in events if e.type == "state"]


def test_a_lost_job_is_requeued_once_however_many_workers_sweep(
    client: redis.Redis,
) -> None:
    job_id = vanished_run(client, str(uuid.uuid4()), step=37)
    outbox = Outbox()
    sweepers = [Recovery(client, outbox, max_attempts=3) for _ in range(3)]

    recovered = [sweeper.sweep() for sweeper in sweepers]

    assert sum(job_id in ids for ids in recovered) == 1
    assert outbox.sent == [("genqueue.train", job_id, SPEC, "gpu")]
    last = states(client, job_id)[-1]
    assert last["status"] == "interrupted"
    assert "lost at step 37 (1 of 3 tries)" in last["error"]
    assert not client.hexists(CLAIMS_KEY, job_id)


def test_a_job_whose_lease_is_alive_is_left_alone(client: redis.Redis) -> None:
    reporter = Reporter(client, str(uuid.uuid4()), "alive@host 1")
    reporter.acquire(CLAIM)
    outbox = Outbox()

    assert reporter.job_id not in Recovery(client, outbox, 3).sweep()

    assert outbox.sent == [] and client.hexists(CLAIMS_KEY, reporter.job_id)
    reporter.finish("succeeded", {})
    assert not client.hexists(CLAIMS_KEY, reporter.job_id)


def test_a_job_that_loses_its_worker_every_time_fails_at_the_limit(
    client: redis.Redis,
) -> None:
    job_id = vanished_run(client, str(uuid.uuid4()), step=5, max_attempts=2)
    outbox = Outbox()
    Recovery(client, outbox, max_attempts=9).sweep()
    assert len(outbox.sent) == 1
    vanished_run(client, job_id, step=12, max_attempts=2)  # the next run gets further

    Recovery(client, outbox, max_attempts=9).sweep()

    assert len(outbox.sent) == 1  # not sent a third time
    last = states(client, job_id)[-1]
    assert last["status"] == "failed"
    assert last["error"].startswith("Worker lost 2 times, last at step 12")
    assert client.get(done_key(job_id)) == b"failed"
    assert client.get(losses_key(job_id)) == b"2"
    assert Reporter(client, job_id, "late").acquire(CLAIM) == "it has already finished"


def test_a_run_whose_job_was_recovered_stops_and_sends_nothing_more(
    client: redis.Redis,
) -> None:
    reporter = Reporter(client, str(uuid.uuid4()), "slow@host 1", lease_seconds=5)
    reporter.acquire(CLAIM)
    client.delete(lease_key(reporter.job_id))
    Recovery(client, Outbox(), 3).sweep()
    count = client.xlen(stream_key(reporter.job_id))

    deadline = time.monotonic() + 10
    while not reporter.is_lost() and time.monotonic() < deadline:
        time.sleep(0.1)
    reporter.emit("log", {"level": "info", "message": "late"})
    reporter.finish("succeeded", {})

    assert reporter.is_lost()
    assert client.xlen(stream_key(reporter.job_id)) == count
    assert not client.exists(done_key(reporter.job_id))


def test_a_run_that_stalled_past_its_lease_takes_it_back_if_nobody_did(
    client: redis.Redis,
) -> None:
    reporter = Reporter(client, str(uuid.uuid4()), "stalled@host 1", lease_seconds=5)
    reporter.acquire(CLAIM)
    client.delete(lease_key(reporter.job_id))

    deadline = time.monotonic() + 10
    while not client.exists(lease_key(reporter.job_id)):
        assert time.monotonic() < deadline, "the lease was never taken back"
        time.sleep(0.1)

    assert not reporter.is_lost()
    assert client.get(lease_key(reporter.job_id)) == b"stalled@host 1"
    record = json.loads(client.hget(CLAIMS_KEY, reporter.job_id))
    assert record["holder"] == "stalled@host 1"
    reporter.finish("succeeded", {})


def test_a_job_cancelled_as_its_worker_died_ends_cancelled_and_is_not_sent(
    client: redis.Redis,
) -> None:
    job_id = vanished_run(client, str(uuid.uuid4()), step=8)
    client.set(cancel_key(job_id), "1")
    outbox = Outbox()

    assert Recovery(client, outbox, 3).sweep() == [job_id]

    assert outbox.sent == []
    last = states(client, job_id)[-1]
    assert last == {"status": "cancelled", "error": last["error"]}
    assert "lost at step 8" in last["error"]
    assert client.get(done_key(job_id)) == b"cancelled"
