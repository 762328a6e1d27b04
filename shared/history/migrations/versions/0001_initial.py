"""The first schema: jobs, events, metrics, epoch summaries, images, cursors.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _job_id() -> sa.Column[str]:
    return sa.Column("job_id", sa.String(36), nullable=False)


def _job_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["job_id"], ["jobs.id"], name=f"fk_{table}_job_id_jobs", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create every table of the history."""
    _create_jobs()
    _create_events()
    _create_metrics()
    _create_epoch_summaries()
    _create_images()
    _create_stream_cursors()


def downgrade() -> None:
    """Drop every table of the history."""
    for table in ("stream_cursors", "images", "epoch_summaries", "metrics", "events"):
        op.drop_table(table)
    op.drop_table("jobs")


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("dataset", sa.String(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("submitted_at", UTC_DATETIME, nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=True),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("steps_per_epoch", sa.Integer(), nullable=True),
        sa.Column("images_per_second", sa.Double(), nullable=True),
        sa.Column("latest", sa.JSON(), nullable=False),
        sa.Column("device", sa.String(), nullable=True),
        sa.Column("worker", sa.String(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outputs", sa.String(), nullable=True),
        sa.Column("samples_dir", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_submitted_at", "jobs", ["submitted_at"])


def _create_events() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        _job_id(),
        sa.Column("stream_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("time", sa.Double(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("job_id", "stream_id", name="uq_events_job_id_stream_id"),
        _job_fk("events"),
    )


def _create_metrics() -> None:
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        _job_id(),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metrics"),
        _job_fk("metrics"),
    )
    op.create_index("ix_metrics_job_id_step", "metrics", ["job_id", "step"])


def _create_epoch_summaries() -> None:
    op.create_table(
        "epoch_summaries",
        _job_id(),
        sa.Column("epoch", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("means", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "epoch", name="pk_epoch_summaries"),
        _job_fk("epoch_summaries"),
    )


def _create_images() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        _job_id(),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        _job_fk("images"),
    )
    op.create_index("ix_images_job_id", "images", ["job_id"])


def _create_stream_cursors() -> None:
    op.create_table(
        "stream_cursors",
        _job_id(),
        sa.Column("last_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_stream_cursors"),
        _job_fk("stream_cursors"),
    )
