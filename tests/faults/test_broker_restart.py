"""Redis stopped and started again under a running job and two queued behind it.

The test's own Redis keeps an append-only file (appendfsync everysec), so what it
promises after each kind of stop differs:

- SIGTERM: Redis writes and fsyncs the file before it exits; every acknowledged
  write is there after the restart.
- SIGKILL: Redis writes each command to the file (write(2), into the page cache)
  before it replies, and a killed process does not take the page cache with it, so
  every acknowledged write is still there. The exception is a disk so slow that an
  fsync is still running a second later: Redis then holds writes back for up to two
  seconds while replying, and a kill loses them. An operating-system crash or power
  cut loses up to a second of writes not yet fsynced; neither is tested here.

Either way the worker, the client and `genqueue wait` ride out the gap by
themselves, the queued jobs still run, and the history ends with every step and
epoch exactly once.
"""

from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from shared.client import Client
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from tests.faults.commands import start_genqueue
from tests.faults.cutting_proxy import CuttingProxy
from tests.faults.tiny_jobs import PER_EPOCH, vae, wait_for_step

pytestmark = pytest.mark.e2e

# Long enough that the restart lands mid-run on a fast machine too (an epoch of
# these is a fraction of a second); the queued ones are short.
RUNNING_EPOCHS = 20
QUEUED_EPOCHS = 1
# Long enough for several of the reporter's sends to fail and be kept.
DOWN_SECONDS = 3.0


@pytest.fixture
def restart_settings(
    tmp_path: Path, own_redis: EmbeddedRedis, shared_artifacts: Path
) -> Settings:
    return Settings.load(
        home=tmp_path / "home",
        broker_url=own_redis.url,
        queue="restart",
        artifact_dir=shared_artifacts,
        environ={},
    )


def assert_every_event_once(client: Client, job_id: str, epochs: int) -> None:
    steps = [point.step for point in client.store.metrics(job_id)]
    assert steps == list(range(1, epochs * PER_EPOCH + 1))
    assert [e for e, _ in client.store.epoch_means(job_id)] == list(
        range(1, epochs + 1)
    )
    # The table above merges a repeated epoch; the stored events would not.
    events = client.store.events(job_id)
    assert [e.payload["epoch"] for e in events if e.type == "epoch"] == list(
        range(1, epochs + 1)
    )
    assert len({e.stream_id for e in events}) == len(events)
    states = [e.payload["status"] for e in events if e.type == "state"]
    assert states == ["running", "succeeded"]
    assert {image.epoch for image in client.store.images(job_id)} == set(
        range(1, epochs + 1)
    )


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"]
)
def test_jobs_survive_a_redis_restart_with_every_event_once(
    own_redis: EmbeddedRedis,
    restart_settings: Settings,
    start_worker,
    stop_signal: signal.Signals,
) -> None:
    worker = start_worker(restart_settings)
    client = Client(restart_settings)
    running = client.submit(vae(RUNNING_EPOCHS, "running"))
    queued = [client.submit(vae(QUEUED_EPOCHS, f"queued {n}")) for n in (1, 2)]
    # As a user would leave it running in a terminal.
    follower = start_genqueue(restart_settings, "wait", running, "--timeout", "180")
    wait_for_step(client, running, PER_EPOCH + 2, timeout=90)
    assert client.store.get_job(running).status == "running"

    assert own_redis.process is not None
    own_redis.process.send_signal(stop_signal)
    own_redis.process.wait(10)
    own_redis.process = None
    time.sleep(DOWN_SECONDS)
    own_redis.start()

    ends = {job: client.wait(job, timeout=180) for job in [running, *queued]}
    output, _ = follower.communicate(timeout=60)
    assert {job: view.status for job, view in ends.items()} == dict.fromkeys(
        ends, "succeeded"
    ), worker.log()
    assert follower.returncode == 0, output
    assert_every_event_once(client, running, RUNNING_EPOCHS)
    for job in queued:
        assert_every_event_once(client, job, QUEUED_EPOCHS)
    assert worker.process.poll() is None, "the worker should still be serving"
    assert "Connection to broker lost" in worker.log()


def test_a_send_whose_reply_is_lost_is_stored_once(
    redis_server: EmbeddedRedis,
    settings: Settings,
    shared_artifacts: Path,
    start_worker,
) -> None:
    settings = replace(settings, artifact_dir=shared_artifacts)
    proxy = CuttingProxy(redis_server.port or 0)
    start_worker(replace(settings, broker_url=proxy.url(settings.broker_url or "")))
    client = Client(settings)
    job_id = client.submit(vae(RUNNING_EPOCHS, "cut"))
    wait_for_step(client, job_id, 3, timeout=90)

    proxy.arm()
    assert proxy.cut.wait(30), "no stream append passed the proxy"
    end = client.wait(job_id, timeout=120)
    proxy.close()

    assert end.status == "succeeded"
    assert_every_event_once(client, job_id, RUNNING_EPOCHS)
