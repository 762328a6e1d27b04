"""The history file: migrations, pragmas, refusing newer schemas, concurrent opens."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from shared.errors import ConfigError
from shared.history import HistoryStore
from shared.history.models import Base

SPEC = {"kind": "train", "model": "vae", "dataset": "digits", "epochs": 2}


def test_migrations_create_exactly_the_tables_of_the_models(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    HistoryStore.open(db).close()

    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    engine.dispose()

    assert diffs == []
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_open_creates_missing_parent_folders(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "history.db"

    with HistoryStore.open(db) as store:
        store.add_job("0f0f0f0f-0000", SPEC)

    assert db.is_file()


def test_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    with HistoryStore.open(tmp_path / "history.db") as store:
        store.engine.dispose()
        with store.engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
            synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()

    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1}
    assert synchronous == 1  # NORMAL


def test_file_stays_in_wal_mode_for_other_programs(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    HistoryStore.open(db).close()

    connection = sqlite3.connect(db)
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()

    assert mode == "wal"


def test_open_refuses_a_database_from_a_newer_genqueue(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    HistoryStore.open(db).close()
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(ConfigError, match="upgrade genqueue") as caught:
        HistoryStore.open(db)

    assert str(db) in str(caught.value)


def test_reopening_keeps_the_jobs(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    with HistoryStore.open(db) as store:
        store.add_job("0f0f0f0f-0000", SPEC)

    with HistoryStore.open(db) as store:
        jobs = store.list_jobs()

    assert [job.id for job in jobs] == ["0f0f0f0f-0000"]


def _open_and_add(
    db: str, job_id: str, barrier: multiprocessing.synchronize.Barrier
) -> None:
    barrier.wait(timeout=30)
    with HistoryStore.open(Path(db)) as store:
        store.add_job(job_id, SPEC)


def test_two_processes_can_open_a_fresh_file_at_once(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [
        context.Process(target=_open_and_add, args=(str(db), job_id, barrier))
        for job_id in ("aaaaaaaa-0001", "bbbbbbbb-0002")
    ]

    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0, 0]
    with HistoryStore.open(db) as store:
        assert {job.id for job in store.list_jobs()} == {
            "aaaaaaaa-0001",
            "bbbbbbbb-0002",
        }
