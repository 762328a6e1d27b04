"""Client.submit keeps one Celery app for its messages, and it outlives a broker restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.client import Client
from shared.errors import SpecError
from shared.redis_server import EmbeddedRedis, free_port
from shared.settings import Settings
from shared.spec import TrainSpec

SPEC = TrainSpec.from_json({"model": "vae", "dataset": "digits", "epochs": 1})


def test_jobs_are_queued_before_and_after_redis_restarts(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    try:
        settings = Settings.load(
            home=tmp_path / "home", broker_url=server.url, queue="q", environ={}
        )
        client = Client(settings)
        first = client.submit(SPEC)
        server.stop()
        server.start()

        second = client.submit(SPEC)
        queued = client.redis.llen("q")
    finally:
        server.stop()

    assert first != second
    assert queued == 2
    assert [job.id for job in client.store.list_jobs()] == [second, first]


def test_a_client_sends_every_job_through_the_same_app(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    try:
        settings = Settings.load(
            home=tmp_path / "home", broker_url=server.url, queue="q", environ={}
        )
        client = Client(settings)
        client.submit(SPEC)
        app = client.celery

        client.submit(SPEC)
        queued = client.redis.llen("q")
    finally:
        server.stop()

    assert client.celery is app
    assert queued == 2


def test_retry_refuses_a_job_that_has_not_ended_and_queues_nothing(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    try:
        settings = Settings.load(
            home=tmp_path / "home", broker_url=server.url, queue="q", environ={}
        )
        client = Client(settings)
        job_id = client.submit(SPEC)
        client.redis.delete("q")

        with pytest.raises(SpecError, match=f"Job {job_id[:8]} is still queued"):
            client.retry(job_id[:8])
        queued = client.redis.llen("q")
    finally:
        server.stop()

    assert queued == 0
    assert [job.id for job in client.store.list_jobs()] == [job_id]
