"""Builders of the plain objects the detail panel shows; this module holds no tests.

They live here rather than in conftest.py, which other app tests own.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from gui.detail_model import DetailDelta, JobDetail
from shared.history import EventView, ImageView, JobView, MetricPoint

JOB_ID = "3f2b9c1e-7d4a-4e8b-9a61-2c5d8e0f1a7b"
STARTED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_job(**changes: Any) -> JobView:
    """A running VAE job a third of the way through, changed by ``changes``."""
    job = JobView(
        id=JOB_ID,
        name="vae digits",
        kind="train",
        model="vae",
        dataset="digits",
        spec={"model": "vae", "epochs": 3, "lr": 0.001, "image_size": None},
        status="running",
        submitted_at=STARTED - timedelta(seconds=5),
        started_at=STARTED,
        finished_at=None,
        updated_at=STARTED + timedelta(seconds=60),
        epoch=1,
        epochs=3,
        step=100,
        steps_per_epoch=100,
        images_per_second=1234.5,
        latest={},
        device="cpu, 2 threads",
        worker="celery@box",
        error=None,
        outputs="/srv/genqueue/outputs/3f2b9c1e",
        samples_dir=None,
    )
    return dataclasses.replace(job, **changes)


def vae_points(count: int, start: int = 1, per_epoch: int = 100) -> list[MetricPoint]:
    """Steps ``start``.. with decaying VAE losses."""
    points = []
    for step in range(start, start + count):
        kl = 20 + 5 / step
        values = {"loss": 100 + 50 / step + kl, "reconstruction": 100 + 50 / step}
        values["kl"] = kl
        points.append(MetricPoint((step - 1) // per_epoch + 1, step, values))
    return points


def gan_points(count: int) -> list[MetricPoint]:
    values = {"d_loss": 1.2, "g_loss": 0.8, "d_real": 0.7, "d_fake": 0.3}
    return [MetricPoint(1, step, dict(values)) for step in range(1, count + 1)]


def write_png(path: Path, size: int = 82, shade: int = 128) -> Path:
    Image.new("L", (size, size), shade).save(path)
    return path


def make_images(folder: Path, epochs: int, names: tuple[str, ...] = ("samples",)):
    """One PNG per epoch and name, each a different shade, written to ``folder``."""
    images = []
    for epoch in range(1, epochs + 1):
        for name in names:
            path = write_png(folder / f"{name}_epoch{epoch:03d}.png", shade=epoch * 40)
            images.append(ImageView(epoch, name, path, 82, 82))
    return images


def make_event(id: int, type: str, payload: dict[str, Any]) -> EventView:
    return EventView(
        id, f"{1_740_830_400_000 + id}-0", type, 1_740_830_400.0 + id, payload
    )


def make_detail(job: JobView | None = None, **fields: Any) -> JobDetail:
    return JobDetail(job=job or make_job(), **fields)


def make_delta(job: JobView | None = None, **fields: Any) -> DetailDelta:
    values: dict[str, Any] = {
        "metrics": [],
        "epoch_means": [],
        "images": [],
        "logs": [],
    }
    values.update(fields)
    return DetailDelta(job=job or make_job(), **values)
