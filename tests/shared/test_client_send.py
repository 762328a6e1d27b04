"""Client.submit keeps one Celery app for its messages, and it outlives a broker restart;
retry refuses a job that has not ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.client import Client
from shared.errors import SpecError
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from shared.spec import TrainSpec

SPEC = TrainSpec.from_json({"model": "vae", "dataset": "digits", "epochs": 1})


@pytest.fixture
def client(tmp_path: Path, own_redis: EmbeddedRedis) -> Client:
    settings = Settings.load(
        home=tmp_path / "home", broker_url=own_redis.url, queue="q", environ={}
    )
    return Client(settings)


def test_jobs_are_queued_before_and_after_redis_restarts(
    own_redis: EmbeddedRedis, client: Client
) -> None:
    first = client.submit(SPEC)
    own_redis.stop()
    own_redis.start()

    second = client.submit(SPEC)

    assert first != second
    assert client.redis.llen("q") == 2
    assert [job.id for job in client.store.list_jobs()] == [second, first]


def test_a_client_sends_every_job_through_the_same_app(client: Client) -> None:
    client.submit(SPEC)
    app = client.celery

    client.submit(SPEC)

    assert client.celery is app
    assert client.redis.llen("q") == 2


def test_retry_refuses_a_job_that_has_not_ended_and_queues_nothing(
    client: Client,
) -> None:
    job_id = client.submit(SPEC)
    client.redis.delete("q")

    with pytest.raises(SpecError, match=f"Job {job_id[:8]} is still queued"):
        client.retry(job_id[:8])

    assert client.redis.llen("q") == 0
    assert [job.id for job in client.store.list_jobs()] == [job_id]
