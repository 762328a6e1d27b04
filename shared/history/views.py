"""Plain, frozen copies of history rows, safe to hand to other threads and layers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.history.models import EventRecord, ImageRecord, Job, MetricRow


@dataclass(frozen=True)
class JobView:
    """A job as stored, detached from any database session."""

    id: str
    name: str
    kind: str
    model: str
    dataset: str
    spec: dict[str, Any]
    status: str
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int | None
    images_per_second: float | None
    latest: dict[str, Any]
    device: str | None
    worker: str | None
    error: str | None
    outputs: str | None
    samples_dir: str | None

    @classmethod
    def from_row(cls, job: Job) -> JobView:
        """Copy every column of ``job``; dicts are copied so the view stays apart."""
        values = {f.name: getattr(job, f.name) for f in dataclasses.fields(cls)}
        values["spec"] = dict(values["spec"])
        values["latest"] = dict(values["latest"])
        return cls(**values)

    @property
    def short_id(self) -> str:
        """The first eight characters of the id, enough to tell jobs apart."""
        return self.id[:8]

    @property
    def duration(self) -> timedelta | None:
        """Time from start to finish, or to now while the job runs."""
        if self.started_at is None:
            return None
        end = self.finished_at
        if end is None:
            is_running = self.status == "running"
            end = datetime.now(UTC) if is_running else self.updated_at
        return max(end - self.started_at, timedelta(0))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: datetimes as ISO 8601, duration in seconds."""
        data = dataclasses.asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        duration = self.duration
        data["duration"] = None if duration is None else duration.total_seconds()
        return data


@dataclass(frozen=True)
class MetricPoint:
    """The loss values of one step."""

    epoch: int
    step: int
    values: dict[str, Any]

    @classmethod
    def from_row(cls, row: MetricRow) -> MetricPoint:
        return cls(epoch=row.epoch, step=row.step, values=dict(row.values))


@dataclass(frozen=True)
class ImageView:
    """An image stored on this machine for one epoch."""

    epoch: int
    name: str
    path: Path
    width: int
    height: int

    @classmethod
    def from_row(cls, row: ImageRecord) -> ImageView:
        return cls(row.epoch, row.name, Path(row.path), row.width, row.height)


@dataclass(frozen=True)
class EventView:
    """One stored stream entry."""

    id: int
    stream_id: str
    type: str
    time: float
    payload: dict[str, Any]

    @classmethod
    def from_row(cls, row: EventRecord) -> EventView:
        return cls(row.id, row.stream_id, row.type, row.time, dict(row.payload))
