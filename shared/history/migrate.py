"""Bring a history database to the schema this code expects, with Alembic.

The migration scripts ship inside the package, so there is no alembic.ini: the
configuration is built here and handed the connection to migrate.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from shared.errors import ConfigError
from shared.history.engine import writer

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migrations in this package."""
    config = Config()
    # configparser reads % as interpolation, and a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def upgrade(engine: Engine, db_path: Path) -> None:
    """Migrate the database to head; refuse one newer than this code."""
    config = alembic_config()
    script = ScriptDirectory.from_config(config)

    # The file lock keeps two processes opening a fresh file from both creating
    # tables; the IMMEDIATE transaction makes the whole upgrade one atomic step.
    with _file_lock(lock_path(db_path)), writer(engine).begin() as connection:
        current = _refuse_newer(connection, script, db_path)
        if current == script.get_current_head():
            return
        logger.info("migrating history %s from %s to head", db_path, current)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def lock_path(db_path: Path) -> Path:
    """The lock file that serializes migrations of ``db_path``."""
    return db_path.with_name(db_path.name + ".lock")


def _refuse_newer(
    connection: Connection, script: ScriptDirectory, db_path: Path
) -> str | None:
    current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in script.walk_revisions()}
    if current is not None and current not in known:
        raise ConfigError(
            f"The history database {db_path} was written by a newer genqueue "
            f"(schema revision {current}); upgrade genqueue to open it."
        )
    return current


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (POSIX only; flock is not on Windows)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
