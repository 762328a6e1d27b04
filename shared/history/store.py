"""The job history: one SQLite file, written only by the client side.

Several processes (the app, the command line) may open the same file at once. Reads
see a consistent snapshot; writes take the write lock up front and wait for each
other, so they never fail with "database is locked" while the other one works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from shared.errors import ConfigError, JobNotFound
from shared.events import TERMINAL, Event
from shared.history.apply import START, apply_entries
from shared.history.engine import create_history_engine, writer
from shared.history.migrate import upgrade
from shared.history.models import (
    EpochSummary,
    EventRecord,
    ImageRecord,
    Job,
    MetricRow,
    StreamCursor,
)
from shared.history.views import EventView, ImageView, JobView, MetricPoint

logger = logging.getLogger(__name__)

MIN_PREFIX = 4


class HistoryStore:
    """Jobs, their events and what was learned from them, in one SQLite file."""

    def __init__(self, engine: Engine, db_path: Path) -> None:
        self.db_path = db_path
        self._engine = engine
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(writer(engine), expire_on_commit=False)

    @classmethod
    def open(cls, db_path: Path) -> HistoryStore:
        """Open (creating if needed) and migrate the history at ``db_path``."""
        db_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_history_engine(db_path)
        try:
            upgrade(engine, db_path)
        except DatabaseError as exc:
            engine.dispose()
            raise ConfigError(
                f"{db_path} is not a readable genqueue history ({exc.orig}); move it "
                "aside and genqueue starts a new one."
            ) from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, db_path)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """One BEGIN IMMEDIATE transaction, committed when the block ends."""
        with self._writer.begin() as session:
            yield session

    def add_job(
        self,
        job_id: str,
        spec: dict[str, Any],
        *,
        submitted_at: datetime | None = None,
        source: JobView | None = None,
    ) -> None:
        """Record a newly submitted job as queued.

        A generation job's spec names no model or dataset; its row takes them from
        the training job it draws from, given as ``source``.
        """
        when = submitted_at or datetime.now(UTC)
        job = Job(
            id=job_id,
            name=spec.get("name", ""),
            kind=spec.get("kind", "train"),
            model=source.model if source else spec["model"],
            dataset=source.dataset if source else spec["dataset"],
            epochs=spec.get("epochs", 0),
            spec=dict(spec),
            status="queued",
            submitted_at=when,
            updated_at=when,
        )
        with self._writing() as session:
            session.add(job)
        logger.info("job %s queued", job_id)

    def rename_job(self, job_id: str, name: str) -> None:
        """Give a job a new label; the spec keeps the name it was submitted with."""
        with self._writing() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"No job {job_id!r} in the history.")
            job.name = name
            job.updated_at = datetime.now(UTC)

    def delete_job(self, job_id: str) -> None:
        """Remove a job and everything recorded for it; its image files stay."""
        with self._writing() as session:
            job = session.get(Job, job_id)
            if job is not None:
                session.delete(job)

    def get_job(self, ref: str) -> JobView:
        """Find a job by its full id or a unique prefix of at least four characters."""
        with self._reader() as session:
            job = session.get(Job, ref)
            if job is not None:
                return JobView.from_row(job)
            return JobView.from_row(_by_prefix(session, ref))

    def list_jobs(
        self, *, status: str | None = None, limit: int | None = None, offset: int = 0
    ) -> list[JobView]:
        """Jobs, newest first, optionally only those in one state."""
        query = select(Job).order_by(Job.submitted_at.desc(), Job.id.desc())
        if status is not None:
            query = query.where(Job.status == status)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with self._reader() as session:
            return [JobView.from_row(job) for job in session.scalars(query)]

    def changed_since(self, moment: datetime) -> list[JobView]:
        """Jobs changed at or after ``moment``, by anyone, oldest change first."""
        query = select(Job).where(Job.updated_at >= moment).order_by(Job.updated_at)
        with self._reader() as session:
            return [JobView.from_row(job) for job in session.scalars(query)]

    def jobs_to_follow(self) -> list[tuple[str, str]]:
        """(job id, last applied stream id) for every job not yet finished."""
        query = (
            select(Job.id, func.coalesce(StreamCursor.last_id, START))
            .outerjoin(StreamCursor, StreamCursor.job_id == Job.id)
            .where(Job.status.not_in(TERMINAL))
            .order_by(Job.submitted_at)
        )
        with self._reader() as session:
            return [(job_id, last_id) for job_id, last_id in session.execute(query)]

    def apply_events(
        self, job_id: str, entries: Sequence[tuple[str, Event]], images_root: Path
    ) -> int:
        """Apply the entries after the job's cursor, exactly once; return how many."""
        return self.apply_batches({job_id: entries}, images_root)[job_id]

    def apply_batches(
        self, batches: Mapping[str, Sequence[tuple[str, Event]]], images_root: Path
    ) -> dict[str, int]:
        """Apply several jobs' entries, each exactly once, in one transaction.

        Returns how many entries each job took. Many jobs reporting at once (a
        queue of short jobs) would otherwise cost a commit and two lookups apiece.
        """
        with self._writing() as session:
            # Two queries for all the jobs, instead of two lookups for each.
            jobs = {
                job.id: job
                for job in session.scalars(select(Job).where(Job.id.in_(batches)))
            }
            cursors = {
                cursor.job_id: cursor
                for cursor in session.scalars(
                    select(StreamCursor).where(StreamCursor.job_id.in_(batches))
                )
            }
            applied = {}
            for job_id, entries in batches.items():
                job = jobs.get(job_id)
                if job is None:
                    raise JobNotFound(
                        f"No job {job_id!r} in the history; it cannot take events."
                    )
                cursor = cursors.get(job_id)
                applied[job_id] = apply_entries(
                    session, job, cursor, entries, images_root
                )
            return applied

    def mark_interrupted(
        self, job_id: str, reason: str, *, was: str = "running"
    ) -> None:
        """Mark a job that will not go on by itself, if it is still in state ``was``.

        That is a running job whose worker vanished, or a queued one the broker lost.
        """
        with self._writing() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise JobNotFound(f"No job {job_id!r} in the history.")
            if job.status != was:
                return
            job.status = "interrupted"
            job.error = reason
            job.updated_at = datetime.now(UTC)
        logger.info("job %s interrupted: %s", job_id, reason)

    def metrics(
        self, job_id: str, *, after_step: int | None = None
    ) -> list[MetricPoint]:
        """Each step's loss values (after ``after_step`` if given), in step order."""
        query = (
            select(MetricRow)
            .where(MetricRow.job_id == job_id)
            .order_by(MetricRow.step, MetricRow.id)
        )
        if after_step is not None:
            query = query.where(MetricRow.step > after_step)
        with self._reader() as session:
            return [MetricPoint.from_row(row) for row in session.scalars(query)]

    def epoch_means(self, job_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(epoch, mean of each loss) in epoch order."""
        query = (
            select(EpochSummary)
            .where(EpochSummary.job_id == job_id)
            .order_by(EpochSummary.epoch)
        )
        with self._reader() as session:
            return [(row.epoch, dict(row.means)) for row in session.scalars(query)]

    def images(self, job_id: str) -> list[ImageView]:
        """Stored images in epoch order."""
        query = (
            select(ImageRecord)
            .where(ImageRecord.job_id == job_id)
            .order_by(ImageRecord.epoch, ImageRecord.name)
        )
        with self._reader() as session:
            return [ImageView.from_row(row) for row in session.scalars(query)]

    def events(
        self, job_id: str, *, after_id: int = 0, types: Sequence[str] | None = None
    ) -> list[EventView]:
        """Stored stream entries after ``after_id``, in the order they were applied."""
        query = (
            select(EventRecord)
            .where(EventRecord.job_id == job_id, EventRecord.id > after_id)
            .order_by(EventRecord.id)
        )
        if types is not None:
            query = query.where(EventRecord.type.in_(types))
        with self._reader() as session:
            return [EventView.from_row(row) for row in session.scalars(query)]


def _by_prefix(session: Session, ref: str) -> Job:
    if len(ref) < MIN_PREFIX:
        raise JobNotFound(
            f"{ref!r} is too short to pick a job; give at least {MIN_PREFIX} "
            "characters of the id, or run `genqueue jobs` to list ids."
        )
    query = select(Job).where(Job.id.startswith(ref, autoescape=True)).limit(11)
    matches = list(session.scalars(query))
    if not matches:
        raise JobNotFound(f"No job matches {ref!r}; run `genqueue jobs` to list ids.")
    if len(matches) > 1:
        count = "more than 10" if len(matches) > 10 else str(len(matches))
        raise JobNotFound(
            f"{count} jobs start with {ref!r}; give more characters of the id."
        )
    return matches[0]
