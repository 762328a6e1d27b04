"""Events a second from a job's Redis stream into SQLite, read position committed.

genqueue's side is the client's own path: shared/ingest.py reads the stream in
batches and shared/history stores each batch, the metric rows it carries, the job's
new state and the stream position in one transaction. The baseline reads the same
entries from the same stream and stores the same rows with plain sqlite3
``executemany``, also one transaction a batch with the position in it.

The stream looks like a worker's: a running state, then metrics events of eight
steps each alternating with progress events, as a reporter sends them.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from benchmarks.report import Row, ratio_at_least
from shared.events import Event, lease_key, stream_key
from shared.history import HistoryStore
from shared.ingest import BATCH, Ingestor

ROWS_PER_EVENT = 8

SCHEMA = """
CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT, step INTEGER, latest TEXT);
CREATE TABLE events (
    id INTEGER PRIMARY KEY, job_id TEXT, stream_id TEXT, type TEXT, time REAL,
    payload TEXT, UNIQUE (job_id, stream_id));
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY, job_id TEXT, epoch INTEGER, step INTEGER, "values" TEXT);
CREATE INDEX ix_metrics ON metrics (job_id, step);
CREATE TABLE cursors (job_id TEXT PRIMARY KEY, last_id TEXT);
"""


def fill_stream(client: redis.Redis, job_id: str, count: int) -> None:
    """Put `count` events of a running job on its stream, and hold its lease."""
    client.set(lease_key(job_id), "bench", ex=3600)
    pipe = client.pipeline(transaction=False)
    pipe.xadd(stream_key(job_id), Event("state", {"status": "running"}).to_fields())  # type: ignore[arg-type]
    step = 0
    for index in range(count - 1):
        if index % 2:
            event = Event("progress", {"epoch": 1, "epochs": 1, "step": step})
        else:
            rows = []
            for _ in range(ROWS_PER_EVENT):
                step += 1
                rows.append({"epoch": 1, "step": step, "loss": 1.0 / step, "kl": 0.5})
            event = Event("metrics", {"rows": rows})
        pipe.xadd(stream_key(job_id), event.to_fields())  # type: ignore[arg-type]
    pipe.execute()


def ingest_genqueue(client: redis.Redis, job_id: str, folder: Path) -> float:
    """Seconds for shared/ingest.py to store the whole stream in a fresh history."""
    store = HistoryStore.open(folder / f"{uuid.uuid4().hex}.sqlite3")
    spec = {"model": "vae", "dataset": "digits", "epochs": 1}
    store.add_job(job_id, spec)
    try:
        started = time.perf_counter()
        Ingestor(store, client, folder / "images").catch_up()
        return time.perf_counter() - started
    finally:
        store.close()


def ingest_plain(client: redis.Redis, job_id: str, folder: Path) -> float:
    """Seconds for plain batched inserts to store the same stream."""
    db = sqlite3.connect(folder / f"{uuid.uuid4().hex}.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    db.execute("INSERT INTO jobs VALUES (?, 'queued', 0, '{}')", (job_id,))
    try:
        started = time.perf_counter()
        last = "0-0"
        while True:
            reply: Any = client.xread({stream_key(job_id): last}, count=BATCH)
            if not reply:
                return time.perf_counter() - started
            entries = reply[0][1]
            _store_plain(db, job_id, entries)
            last = entries[-1][0].decode()
    finally:
        db.close()


def _store_plain(db: sqlite3.Connection, job_id: str, entries: list[Any]) -> None:
    events, metrics = [], []
    latest: dict[str, Any] = {}
    for stream_id, fields in entries:
        payload_text = fields[b"payload"].decode()
        payload = json.loads(payload_text)
        kind = fields[b"type"].decode()
        events.append(
            (job_id, stream_id.decode(), kind, float(fields[b"time"]), payload_text)
        )
        for row in payload.get("rows", []) if kind == "metrics" else []:
            latest = {k: v for k, v in row.items() if k not in ("epoch", "step")}
            metrics.append((job_id, row["epoch"], row["step"], json.dumps(latest)))
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO events (job_id, stream_id, type, time, payload) "
        "VALUES (?, ?, ?, ?, ?)",
        events,
    )
    db.executemany(
        'INSERT INTO metrics (job_id, epoch, step, "values") VALUES (?, ?, ?, ?)',
        metrics,
    )
    step = metrics[-1][2] if metrics else 0
    db.execute(
        "UPDATE jobs SET status = 'running', step = ?, latest = ? WHERE id = ?",
        (step, json.dumps(latest), job_id),
    )
    db.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (job_id, events[-1][1]))
    db.execute("COMMIT")


def row(client: redis.Redis, folder: Path, count: int, rounds: int) -> Row:
    job_id = str(uuid.uuid4())
    fill_stream(client, job_id, count)
    ingest_plain(client, job_id, folder)  # warm Redis and the file system
    ours: list[float] = []
    theirs: list[float] = []
    for round_ in range(rounds):
        pair = (ingest_genqueue, ingest_plain)
        for ingest in pair if round_ % 2 else reversed(pair):
            seconds = ingest(client, job_id, folder)
            (ours if ingest is ingest_genqueue else theirs).append(count / seconds)
    client.delete(stream_key(job_id), lease_key(job_id))
    return Row(
        key="ingest_events",
        what="events into SQLite, position committed",
        unit="events/s",
        genqueue=statistics.median(ours),
        baseline=statistics.median(theirs),
        baseline_is="the same entries read from the same stream and stored with "
        "sqlite3 executemany, one transaction a batch",
        target=ratio_at_least(0.8),
        note=f"{count:,} events, half of them metrics of {ROWS_PER_EVENT} steps, "
        f"batches of {BATCH}; median of {rounds} rounds",
    )
