"""The SQLite engine behind the history: WAL, a long busy timeout, explicit BEGIN.

pysqlite normally decides on its own when to BEGIN, and always begins deferred. A
deferred transaction that reads and then writes asks SQLite to upgrade its lock, and
that upgrade fails at once with "database is locked" when another process wrote in
between, busy timeout or not. So the driver's own BEGIN is switched off and this
module emits one itself: plain BEGIN for reads, BEGIN IMMEDIATE for writes, which
takes the write lock up front and waits on the busy timeout like any other lock.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event

logger = logging.getLogger(__name__)

BEGIN_OPTION = "genqueue_begin"
BUSY_TIMEOUT_MS = 30_000
PRAGMAS = (
    # The timeout comes first so that switching to WAL waits for other openers too.
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    # Safe with WAL: a power cut may lose the last commits but never corrupts.
    "PRAGMA synchronous=NORMAL",
)


def create_history_engine(db_path: Path) -> Engine:
    """Make an engine on ``db_path`` with the pragmas and BEGIN handling above."""
    url = URL.create("sqlite", database=str(db_path))
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    logger.debug("history engine on %s", db_path)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine, but every transaction it begins is BEGIN IMMEDIATE."""
    return engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # None hands BEGIN to _on_begin; sqlite3 still emits COMMIT and ROLLBACK.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
