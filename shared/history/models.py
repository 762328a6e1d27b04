"""The tables of the job history: jobs, their events, metrics, epoch means and images.

Every datetime is stored as UTC and read back timezone-aware. The migrations under
``migrations/versions`` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints let Alembic's batch mode rebuild SQLite tables without guessing.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as naive UTC and read back with ``tzinfo=UTC``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"Refusing a naive datetime {value!r}; pass one in UTC.")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of every history table."""

    metadata = MetaData(naming_convention=NAMING)
    # Explicit so the mapping does not move between SQLAlchemy 2.0 and 2.1.
    type_annotation_map = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        float: Double,
    }


def _job_fk() -> Mapped[str]:
    return mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))


class Job(Base):
    """One submitted job and what is known of it so far."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "status"),
        Index(None, "submitted_at"),
        Index(None, "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str]
    kind: Mapped[str] = mapped_column(default="train")
    model: Mapped[str]
    dataset: Mapped[str]
    spec: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(default="queued")
    submitted_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    epoch: Mapped[int] = mapped_column(default=0)
    epochs: Mapped[int]
    step: Mapped[int] = mapped_column(default=0)
    steps_per_epoch: Mapped[int | None]
    images_per_second: Mapped[float | None]
    latest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    device: Mapped[str | None]
    worker: Mapped[str | None]
    error: Mapped[str | None] = mapped_column(Text)
    # The worker's artifact folder as it reported it; it may not exist here.
    outputs: Mapped[str | None]
    # Where this client stored the job's sample images.
    samples_dir: Mapped[str | None]


class EventRecord(Base):
    """One stream entry, kept as it arrived (without its PNG bytes)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("job_id", "stream_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[str] = _job_fk()
    stream_id: Mapped[str]
    type: Mapped[str]
    time: Mapped[float]
    payload: Mapped[dict[str, Any]]


class MetricRow(Base):
    """The loss values of one training step."""

    __tablename__ = "metrics"
    __table_args__ = (Index(None, "job_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[str] = _job_fk()
    epoch: Mapped[int]
    step: Mapped[int]
    values: Mapped[dict[str, Any]]


class EpochSummary(Base):
    """The mean of each loss over one epoch."""

    __tablename__ = "epoch_summaries"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    means: Mapped[dict[str, Any]]


class ImageRecord(Base):
    """A sample or reconstruction grid saved on this machine."""

    __tablename__ = "images"
    __table_args__ = (Index(None, "job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[str] = _job_fk()
    epoch: Mapped[int]
    name: Mapped[str]
    path: Mapped[str]
    width: Mapped[int]
    height: Mapped[int]


class StreamCursor(Base):
    """The last stream entry applied for a job, so nothing is applied twice."""

    __tablename__ = "stream_cursors"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    last_id: Mapped[str]
