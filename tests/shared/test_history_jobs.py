"""Jobs in the history: adding, finding by prefix, listing, following, interrupting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.errors import JobNotFound
from shared.events import Event
from shared.history import HistoryStore

SPEC = {"kind": "train", "model": "vae", "dataset": "digits", "epochs": 4, "name": "a"}
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with HistoryStore.open(tmp_path / "history.db") as opened:
        yield opened


def add(store: HistoryStore, job_id: str, minutes: int = 0) -> None:
    store.add_job(job_id, SPEC, submitted_at=T0 + timedelta(minutes=minutes))


def test_add_job_fills_columns_from_the_spec(store: HistoryStore) -> None:
    add(store, "abcd1234-0000")

    job = store.get_job("abcd1234-0000")

    assert (job.name, job.kind, job.model, job.dataset) == (
        "a",
        "train",
        "vae",
        "digits",
    )
    assert (job.status, job.epochs, job.epoch, job.step) == ("queued", 4, 0, 0)
    assert job.spec == SPEC
    assert job.latest == {}
    assert job.submitted_at == T0 and job.submitted_at.tzinfo is not None


def test_add_job_refuses_a_naive_datetime(store: HistoryStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.add_job("abcd1234-0000", SPEC, submitted_at=datetime(2025, 1, 1))


def test_get_job_accepts_a_unique_prefix(store: HistoryStore) -> None:
    add(store, "abcd1234-0000")
    add(store, "ffff0000-0000")

    assert store.get_job("abcd").id == "abcd1234-0000"


def test_get_job_names_the_count_of_an_ambiguous_prefix(store: HistoryStore) -> None:
    add(store, "abcd1234-0000")
    add(store, "abcd5678-0000")

    with pytest.raises(JobNotFound, match="2 jobs start with 'abcd'; give more"):
        store.get_job("abcd")


def test_get_job_explains_an_unknown_id(store: HistoryStore) -> None:
    expected = "No job matches 'beef'; run `genqueue jobs` to list ids."

    with pytest.raises(JobNotFound) as caught:
        store.get_job("beef")

    assert str(caught.value) == expected


def test_get_job_refuses_a_prefix_shorter_than_four(store: HistoryStore) -> None:
    add(store, "abcd1234-0000")

    with pytest.raises(
        JobNotFound, match="too short to pick a job; give at least 4 characters"
    ):
        store.get_job("abc")


def test_get_job_treats_wildcards_literally(store: HistoryStore) -> None:
    add(store, "abcd1234-0000")

    with pytest.raises(JobNotFound):
        store.get_job("ab%_")


def test_list_jobs_is_newest_first_and_filters(store: HistoryStore) -> None:
    add(store, "11111111-0000", minutes=0)
    add(store, "22222222-0000", minutes=2)
    add(store, "33333333-0000", minutes=1)
    store.mark_interrupted("33333333-0000", "unused")  # queued: left alone

    every = [job.id[:1] for job in store.list_jobs()]
    newest = [job.id[:1] for job in store.list_jobs(limit=1)]
    queued = store.list_jobs(status="queued")
    running = store.list_jobs(status="running")

    assert every == ["2", "3", "1"]
    assert newest == ["2"]
    assert len(queued) == 3 and running == []


def test_jobs_to_follow_skips_finished_jobs(
    store: HistoryStore, tmp_path: Path
) -> None:
    for job_id in ("aaaa0000-0000", "bbbb0000-0000", "cccc0000-0000"):
        add(store, job_id)
    running = Event("state", {"status": "running"}, time=1.0)
    store.apply_events("bbbb0000-0000", [("7-1", running)], tmp_path)
    cancelled = Event("state", {"status": "cancelled"}, time=1.0)
    store.apply_events("cccc0000-0000", [("3-0", cancelled)], tmp_path)

    follow = dict(store.jobs_to_follow())

    assert follow == {"aaaa0000-0000": "0-0", "bbbb0000-0000": "7-1"}


def test_mark_interrupted_only_touches_running_jobs(
    store: HistoryStore, tmp_path: Path
) -> None:
    add(store, "aaaa0000-0000")
    running = Event("state", {"status": "running"}, time=1.0)
    store.apply_events("aaaa0000-0000", [("1-0", running)], tmp_path)

    store.mark_interrupted("aaaa0000-0000", "worker lease expired")

    job = store.get_job("aaaa0000-0000")
    assert (job.status, job.error) == ("interrupted", "worker lease expired")
    assert store.jobs_to_follow() == [("aaaa0000-0000", "1-0")]


def test_mark_interrupted_refuses_an_unknown_job(store: HistoryStore) -> None:
    with pytest.raises(JobNotFound):
        store.mark_interrupted("nope0000", "gone")


def test_to_json_is_plain_json(store: HistoryStore, tmp_path: Path) -> None:
    add(store, "aaaa0000-0000")
    entries = [
        ("1-0", Event("state", {"status": "running"}, time=T0.timestamp())),
        ("2-0", Event("state", {"status": "succeeded"}, time=T0.timestamp() + 90)),
    ]
    store.apply_events("aaaa0000-0000", entries, tmp_path)

    data = json.loads(json.dumps(store.get_job("aaaa").to_json()))

    assert data["id"] == "aaaa0000-0000"
    assert data["started_at"] == "2025-03-01T12:00:00+00:00"
    assert data["duration"] == 90.0
    assert data["spec"] == SPEC


def test_duration_is_none_before_start(store: HistoryStore) -> None:
    add(store, "aaaa0000-0000")

    assert store.get_job("aaaa0000-0000").duration is None


def test_a_corrupt_history_file_is_refused_with_the_way_out(tmp_path) -> None:
    from shared.errors import ConfigError
    from shared.history import HistoryStore

    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)

    with pytest.raises(
        ConfigError, match="is not a readable genqueue history.*move it aside"
    ):
        HistoryStore.open(path)
