"""Two workers with folders of their own share models through one location URL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from tests.e2e.test_cli import genqueue, genqueue_json
from tests.e2e.test_generation import generate

pytestmark = pytest.mark.e2e


def worker_settings(
    tmp_path: Path, redis_server: EmbeddedRedis, queue: str, folder: str
) -> Settings:
    return Settings.load(
        home=tmp_path / "home",
        broker_url=redis_server.url,
        queue=queue,
        artifact_dir=str(tmp_path / folder),
        artifact_url=(tmp_path / "shared").as_uri(),
        environ={},
    )


def submit(settings: Settings, *args: str) -> str:
    result = genqueue(settings, "submit", *args)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    assert genqueue(settings, "wait", job_id).returncode == 0
    return job_id


def test_a_second_worker_draws_from_and_continues_a_model_the_first_trained(
    tmp_path: Path, redis_server: EmbeddedRedis, start_worker
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    first = worker_settings(tmp_path, redis_server, queue, "a")
    second = worker_settings(tmp_path, redis_server, queue, "b")
    shared = tmp_path / "shared"
    worker_a = start_worker(first, "a@%h")
    trained = submit(
        first, "train", "--model", "vae", "--dataset", "digits", "--epochs", "1",
        "--max-images", "256",
    )  # fmt: skip
    drawn_on_a = generate(first, trained, "--count", "16", "--seed", "3")
    worker_a.stop()

    start_worker(second, "b@%h")
    drawn_on_b = generate(second, trained, "--count", "16", "--seed", "3")
    had_folder = (tmp_path / "b" / trained).exists()
    continued = submit(second, "more", trained, "--epochs", "1")

    shown = genqueue_json(second, "show", trained)
    assert shown["outputs"] == f"{shared.as_uri()}/{trained}"
    assert "(shared location)" in genqueue(second, "show", trained).stdout
    assert drawn_on_a["status"] == drawn_on_b["status"] == "succeeded"
    grids = [
        Path(d["images"][0]["path"]).read_bytes() for d in (drawn_on_a, drawn_on_b)
    ]
    assert grids[0] == grids[1]
    assert not had_folder
    assert (tmp_path / "b" / "location-cache" / trained / "model.safetensors").is_file()

    more = genqueue_json(second, "show", continued)
    assert more["status"] == "succeeded"
    assert [row["epoch"] for row in more["epoch_losses"]] == [2]
    assert (shared / continued / "checkpoints" / "latest").read_text() == "epoch-00002"
