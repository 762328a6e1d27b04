"""The reporter batches steps, keeps order, holds the lease and sees cancellation."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from shared.events import Event, cancel_key, done_key, lease_key, stream_key
from shared.redis_server import EmbeddedRedis
from worker.reporter import Reporter

CLAIM = {"task": "genqueue.train", "spec": {}, "queue": "q", "max_attempts": 3}


@pytest.fixture
def client(redis_server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(redis_server.url)


def read_events(client: redis.Redis, job_id: str) -> list[Event]:
    return [Event.from_fields(f) for _, f in client.xrange(stream_key(job_id))]


def test_steps_are_batched_into_few_ordered_events(client: redis.Redis) -> None:
    job_id = str(uuid.uuid4())
    reporter = Reporter(client, job_id, "test")
    assert reporter.acquire(CLAIM) is None

    reporter.emit("state", {"status": "running"})
    for step in range(1, 1001):
        reporter.step({"epoch": 1, "step": step, "loss": 1.0 / step}, {"step": step})
    reporter.emit("epoch", {"epoch": 1, "means": {"loss": 0.5}})
    reporter.finish("succeeded", {})

    events = read_events(client, job_id)
    steps = [
        row["step"] for e in events if e.type == "metrics" for row in e.payload["rows"]
    ]
    assert steps == list(range(1, 1001))
    assert len(events) < 20
    assert [e.type for e in events][0] == "state" and events[-1].payload[
        "status"
    ] == "succeeded"
    assert [e.type for e in events].index("epoch") > max(
        i for i, e in enumerate(events) if e.type == "metrics"
    )


def test_finish_releases_the_lease_and_marks_the_job_done(client: redis.Redis) -> None:
    job_id = str(uuid.uuid4())
    reporter = Reporter(client, job_id, "test")
    reporter.acquire(CLAIM)
    assert client.get(lease_key(job_id)) == b"test"

    reporter.finish("failed", {"error": "boom"})

    assert not client.exists(lease_key(job_id))
    assert client.get(done_key(job_id)) == b"failed"
    assert client.ttl(stream_key(job_id)) > 0


def test_a_second_delivery_is_refused_while_the_lease_is_held(
    client: redis.Redis,
) -> None:
    job_id = str(uuid.uuid4())
    first = Reporter(client, job_id, "first")
    assert first.acquire(CLAIM) is None

    assert Reporter(client, job_id, "second").acquire(CLAIM) == "first holds its lease"
    first.finish("succeeded", {})
    assert Reporter(client, job_id, "third").acquire(CLAIM) == "it has already finished"


def test_cancellation_is_seen_within_seconds(client: redis.Redis) -> None:
    job_id = str(uuid.uuid4())
    reporter = Reporter(client, job_id, "test")
    reporter.acquire(CLAIM)

    client.set(cancel_key(job_id), "1")
    deadline = time.monotonic() + 5
    while not reporter.is_cancelled() and time.monotonic() < deadline:
        time.sleep(0.05)

    assert reporter.is_cancelled()
    reporter.finish("cancelled", {})


def test_a_cancelled_job_is_never_started(client: redis.Redis) -> None:
    job_id = str(uuid.uuid4())
    client.set(cancel_key(job_id), "1")

    assert Reporter(client, job_id, "test").acquire(CLAIM) == "it was cancelled"
    assert not client.exists(lease_key(job_id))
