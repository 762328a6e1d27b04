"""Client processes that share one history while a job runs: none is refused.

`genqueue wait` follows the job, a second client process reads the streams and
renames the job flat out, and two loops run `genqueue sync` beside them again and
again, each run opening, migrating and writing the same SQLite file. The job is
long and is cancelled once the busy client has written many times while it ran, so
the clients overlap however slow the machine is. The store alone
is covered in tests/shared/test_history_concurrency.py; this goes through the real
processes and a real job.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from shared.client import Client
from shared.events import stream_key
from shared.settings import Settings
from tests.faults.commands import genqueue, genqueue_env, start_genqueue
from tests.faults.tiny_jobs import PER_EPOCH, vae, wait_for_step

pytestmark = pytest.mark.e2e

EPOCHS = 200
# Renames the busy client makes while the job runs before the test cancels it.
PASSES = 20
# `genqueue sync` loops running side by side, each a new process every few seconds.
SYNC_LOOPS = 2
LOCKED = "database is locked"


def start_busy_client(settings: Settings, job_id: str) -> subprocess.Popen[str]:
    args = [str(settings.home), settings.broker_url or "", settings.queue, job_id]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.busy_client", *args],
        env=genqueue_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sync_while(
    settings: Settings, other: subprocess.Popen[str]
) -> list[subprocess.CompletedProcess[str]]:
    """Run `genqueue sync` again and again while the other process runs."""
    results = []
    while other.poll() is None:
        results.append(genqueue(settings, "sync"))
    return results


def wait_for_renames(
    client: Client, job_id: str, passes: int, busy: subprocess.Popen[str]
) -> None:
    """Wait until the busy client has renamed the job `passes` times and stored
    the end of an epoch while it ran."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.store.get_job(job_id)
        match = re.fullmatch(r"renamed (\d+)", job.name)
        if match and int(match.group(1)) >= passes and job.step > PER_EPOCH:
            return
        assert busy.poll() is None, busy.communicate()[0]
        time.sleep(0.1)
    raise AssertionError(
        f"in 120 s the busy client made fewer than {passes} passes, or the job "
        "finished no epoch"
    )


def test_client_processes_sharing_a_history_store_each_event_once_unlocked(
    settings: Settings, shared_artifacts: Path, start_worker
) -> None:
    settings = replace(settings, artifact_dir=shared_artifacts)
    start_worker(settings)
    client = Client(settings)
    job_id = client.submit(vae(EPOCHS, "shared"))
    wait_for_step(client, job_id, 1, timeout=90)

    follower = start_genqueue(settings, "wait", job_id, "--timeout", "300")
    busy = start_busy_client(settings, job_id)
    with ThreadPoolExecutor(SYNC_LOOPS) as pool:
        loops = [pool.submit(sync_while, settings, busy) for _ in range(SYNC_LOOPS)]
        wait_for_renames(client, job_id, PASSES, busy)
        client.cancel(job_id)
        syncs = [result for loop in loops for result in loop.result()]
    followed, _ = follower.communicate(timeout=180)
    renamed, _ = busy.communicate(timeout=60)

    outputs = [followed, renamed, *(s.stdout + s.stderr for s in syncs)]
    assert not [text for text in outputs if LOCKED in text]
    assert follower.returncode == 1 and "cancelled" in followed, followed
    assert busy.returncode == 0, renamed
    assert [s.returncode for s in syncs] == [0] * len(syncs)
    assert len(syncs) > SYNC_LOOPS
    job = client.store.get_job(job_id)
    assert job.status == "cancelled"
    assert job.name == renamed.strip()
    steps = [point.step for point in client.store.metrics(job_id)]
    assert job.step > PER_EPOCH
    assert steps == list(range(1, job.step + 1))
    epochs = [epoch for epoch, _ in client.store.epoch_means(job_id)]
    assert epochs == list(range(1, len(epochs) + 1)) and epochs
    stored = [event.stream_id for event in client.store.events(job_id)]
    on_stream = [sid.decode() for sid, _ in client.redis.xrange(stream_key(job_id))]
    assert stored == on_stream
