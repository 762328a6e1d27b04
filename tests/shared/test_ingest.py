"""The ingestor stores a stream's entries once and leaves the process as it was."""

from __future__ import annotations

import gc
import uuid
from pathlib import Path

import pytest
import redis

from shared.events import Event, lease_key, stream_key
from shared.history import HistoryStore
from shared.ingest import Ingestor
from shared.redis_server import EmbeddedRedis

SPEC = {"model": "vae", "dataset": "digits", "epochs": 1}


@pytest.mark.parametrize("was_enabled", [True, False])
def test_catch_up_stores_every_entry_and_leaves_the_collector_as_it_was(
    redis_server: EmbeddedRedis, tmp_path: Path, was_enabled: bool
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    job_id = str(uuid.uuid4())
    client.set(lease_key(job_id), "test", ex=60)
    for step in range(1, 2501):
        event = Event("metrics", {"rows": [{"epoch": 1, "step": step, "loss": 1.0}]})
        client.xadd(stream_key(job_id), event.to_fields())  # type: ignore[arg-type]
    store = HistoryStore.open(tmp_path / "history.sqlite3")
    store.add_job(job_id, SPEC)
    if not was_enabled:
        gc.disable()
    try:
        Ingestor(store, client, tmp_path / "images").catch_up()
        is_enabled = gc.isenabled()
    finally:
        gc.enable()
        store.close()
        client.delete(stream_key(job_id), lease_key(job_id))

    assert is_enabled == was_enabled
    with HistoryStore.open(tmp_path / "history.sqlite3") as reopened:
        steps = [point.step for point in reopened.metrics(job_id)]
    assert steps == list(range(1, 2501))
