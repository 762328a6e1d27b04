"""Plain objects the job detail views show, loaded off the UI thread.

Nothing here imports Qt: the backend builds these from the history store on its own
thread and hands them to the widgets through signals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events import LOG_TYPES
from shared.history import EventView, ImageView, JobView, MetricPoint

__all__ = ["LOG_TYPES", "DetailDelta", "JobDetail", "eta_seconds"]


@dataclass(frozen=True)
class JobDetail:
    """Everything known about one job when it was selected."""

    job: JobView
    metrics: list[MetricPoint] = field(default_factory=list)
    epoch_means: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    images: list[ImageView] = field(default_factory=list)
    logs: list[EventView] = field(default_factory=list)


@dataclass(frozen=True)
class DetailDelta:
    """What changed for the selected job since the last detail or delta.

    ``metrics`` and ``logs`` hold only new entries; ``images`` and ``epoch_means`` are
    complete, being small. ``reset`` means a new run of the job replaced the earlier
    steps, so charts start over with ``metrics``.
    """

    job: JobView
    metrics: list[MetricPoint]
    epoch_means: list[tuple[int, dict[str, Any]]]
    images: list[ImageView]
    logs: list[EventView]
    reset: bool = False


def eta_seconds(job: JobView) -> float | None:
    """Seconds left at the job's recent speed, or None before that is known."""
    if job.status != "running" or not job.steps_per_epoch or not job.images_per_second:
        return None
    if job.started_at is None or job.step <= 0:
        return None
    total = job.steps_per_epoch * job.epochs
    elapsed = (job.updated_at - job.started_at).total_seconds()
    return max(total - job.step, 0) * elapsed / job.step
