"""Apply a batch of stream entries to a job: the exactly-once step.

The caller runs this inside one write transaction. Entries at or before the job's
cursor are skipped, the rest are stored and applied, and the cursor moves to the last
one; a failure anywhere rolls all of it back, so a batch counts whole or not at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shared.events import Event
from shared.files import write_atomically
from shared.history.models import (
    EpochSummary,
    ImageRecord,
    Job,
    MetricRow,
    StreamCursor,
)

logger = logging.getLogger(__name__)

START = "0-0"
IMAGE_NAMES = frozenset({"samples", "reconstructions", "interpolation", "classes"})
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
PROGRESS_FIELDS = ("epoch", "epochs", "step", "steps_per_epoch", "images_per_second")
# A metrics row's keys that place it; the others are its values.
STEP_KEYS = frozenset({"epoch", "step"})
INSERT_EVENT = (
    "INSERT INTO events (job_id, stream_id, type, time, payload) VALUES (?, ?, ?, ?, ?)"
)
INSERT_METRIC = (
    'INSERT INTO metrics (job_id, epoch, step, "values") VALUES (?, ?, ?, ?)'
)


def parse_stream_id(stream_id: str) -> tuple[int, int]:
    """Split a Redis stream id "<ms>-<seq>" into numbers, so "9-0" < "10-0"."""
    millis, _, sequence = stream_id.partition("-")
    return int(millis), int(sequence or 0)


def apply_entries(
    session: Session,
    job: Job,
    cursor: StreamCursor | None,
    entries: Sequence[tuple[str, Event]],
    images_root: Path,
) -> int:
    """Store and apply the entries after the job's cursor; return how many.

    ``cursor`` is the job's stream position, None for a job that has taken no
    entry yet.
    """
    job_id = job.id
    if cursor is None:
        cursor = StreamCursor(job_id=job_id, last_id=START)
        session.add(cursor)

    applier = _Applier(session, job, images_root)
    position = parse_stream_id(cursor.last_id)
    last, applied = cursor.last_id, 0
    for stream_id, event in entries:
        entry_position = parse_stream_id(stream_id)
        if entry_position <= position:
            continue
        applier.apply(stream_id, event)
        position, last = entry_position, stream_id
        applied += 1

    applier.finish()
    if applied:
        # Set once: each set of an ORM attribute costs about a row's insert.
        cursor.last_id = last
        job.updated_at = datetime.now(UTC)
    logger.debug("job %s: applied %d of %d entries", job_id, applied, len(entries))
    return applied


class _Applier:
    """Turns each event into changes of one job's rows.

    Event and metric rows are gathered and inserted many at a time, and progress
    is set once (finish): an ORM object or attribute set for each would cost
    several times what SQLite does.
    """

    def __init__(self, session: Session, job: Job, images_root: Path) -> None:
        self.session = session
        self.job = job
        # Read once: each read of an ORM attribute goes through its descriptor.
        self.job_id = job.id
        self.images_dir = images_root / job.id
        self.event_rows: list[tuple[str, str, str, float, str]] = []
        self.metric_rows: list[tuple[str, int, int, str]] = []
        # Set on the job once a batch: each set of an ORM attribute costs about
        # what a row's insert does, and a batch holds hundreds of progress events.
        self.progress: dict[str, Any] = {}
        self.handlers: dict[str, Callable[[Event], None]] = {
            "state": self._on_state,
            "progress": self._on_progress,
            "metrics": self._on_metrics,
            "epoch": self._on_epoch,
            "image": self._on_image,
            "error": self._on_error,
            "log": lambda event: None,
        }

    def apply(self, stream_id: str, event: Event) -> None:
        """Store the entry, then apply what it says."""
        row = (self.job_id, stream_id, event.type, event.time, event.payload_text())
        self.event_rows.append(row)
        handler = self.handlers.get(event.type)
        if handler is None:
            logger.debug(
                "job %s: kept event of unknown type %r", self.job.id, event.type
            )
            return
        handler(event)

    def finish(self) -> None:
        """Write what the batch gathered: its rows, and the job's latest progress."""
        for name, value in self.progress.items():
            setattr(self.job, name, value)
        self.progress.clear()
        self.write_rows()

    def _on_state(self, event: Event) -> None:
        had_rows = bool(self.metric_rows)
        # Progress that came before a state change is the job's before it.
        self.finish()
        job, payload = self.job, event.payload
        job.status = str(payload["status"])
        when = datetime.fromtimestamp(event.time, UTC)
        if job.status == "running":
            # Steps to redo exist only where a run started, or steps came, before.
            has_run = had_rows or job.started_at is not None or job.step > 0
            # A redelivered job reports running again; keep the first start.
            job.started_at = job.started_at or when
            job.device = payload.get("device", job.device)
            job.worker = payload.get("worker", job.worker)
            job.error = None
            if has_run:
                # Looking for them cost a first start more than the rest of its
                # batch, so a job with nothing recorded skips it.
                self._forget_after(int(payload.get("start_step", 0)))
        elif job.status == "interrupted":
            job.error = payload.get("error", job.error)
        elif job.status in FINISHED:
            job.finished_at = when
            job.error = payload.get("error", job.error)
            job.outputs = payload.get("outputs", job.outputs)
        logger.info("job %s is %s", job.id, job.status)

    def write_rows(self) -> None:
        """Insert the event and metric rows gathered so far, in arrival order."""
        # Straight to the driver, with the JSON already encoded: SQLAlchemy's
        # parameter handling for each row cost five times SQLite's own insert.
        connection = self.session.connection()
        for statement, rows in (
            (INSERT_EVENT, self.event_rows),
            (INSERT_METRIC, self.metric_rows),
        ):
            if rows:
                connection.exec_driver_sql(statement, rows)
                rows.clear()

    def _forget_after(self, step: int) -> None:
        """Drop the steps and epoch means a run starting after ``step`` will redo."""
        job_id = self.job.id
        self.write_rows()
        self.session.flush()
        self.session.execute(
            delete(MetricRow).where(MetricRow.job_id == job_id, MetricRow.step > step)
        )
        last_epoch = self.session.scalar(
            select(func.max(MetricRow.epoch)).where(MetricRow.job_id == job_id)
        )
        self.session.execute(
            delete(EpochSummary).where(
                EpochSummary.job_id == job_id, EpochSummary.epoch > (last_epoch or 0)
            )
        )
        self.job.step = step

    def _on_progress(self, event: Event) -> None:
        for name in PROGRESS_FIELDS:
            if name in event.payload:
                self.progress[name] = event.payload[name]

    def _on_metrics(self, event: Event) -> None:
        rows: list[dict[str, Any]] = event.payload.get("rows", [])
        values: dict[str, Any] | None = None
        job_id, append = self.job_id, self.metric_rows.append
        for row in rows:
            values = {k: v for k, v in row.items() if k not in STEP_KEYS}
            append((job_id, int(row["epoch"]), int(row["step"]), json.dumps(values)))
        # Set once: each set of an ORM attribute costs as much as a row's insert.
        if values is not None:
            self.job.latest = values

    def _on_epoch(self, event: Event) -> None:
        epoch = int(event.payload["epoch"])
        means = dict(event.payload.get("means", {}))
        self.session.merge(EpochSummary(job_id=self.job.id, epoch=epoch, means=means))

    def _on_image(self, event: Event) -> None:
        name, epoch = event.payload.get("name"), int(event.payload["epoch"])
        if name not in IMAGE_NAMES or event.png is None:
            # The name becomes a file name, so only the known ones are accepted.
            logger.warning(
                "job %s: skipped image %r (unknown name or no PNG)", self.job.id, name
            )
            return
        path = self.images_dir / f"{name}_epoch{epoch:03d}.png"
        write_atomically(path, event.png)
        self._record_image(epoch, name, path, event.payload)
        self.job.samples_dir = str(self.images_dir)

    def _record_image(
        self, epoch: int, name: str, path: Path, payload: dict[str, Any]
    ) -> None:
        """Point the job's record for this epoch and name at ``path``."""
        self.session.execute(
            delete(ImageRecord).where(
                ImageRecord.job_id == self.job.id,
                ImageRecord.epoch == epoch,
                ImageRecord.name == name,
            )
        )
        record = ImageRecord(
            job_id=self.job.id,
            epoch=epoch,
            name=name,
            path=str(path),
            width=int(payload["width"]),
            height=int(payload["height"]),
        )
        self.session.add(record)

    def _on_error(self, event: Event) -> None:
        if not self.job.error:
            self.job.error = event.payload.get("message")
