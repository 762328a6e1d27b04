"""Alembic's entry point: migrate the connection genqueue hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shared.history.models import Base


def run_migrations(connection: Connection) -> None:
    """Run the pending migrations inside the caller's transaction."""
    # Batch mode rebuilds a SQLite table for changes ALTER TABLE cannot make.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _given_connection() -> Connection:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "genqueue runs its migrations in code; open the history with "
            "HistoryStore.open instead of the alembic command."
        )
    return connection


run_migrations(_given_connection())
