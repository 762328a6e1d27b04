"""One worker process per test module, serving a queue of that module's own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.client import Client
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from tests.conftest import WorkerProcess


@pytest.fixture(scope="module")
def e2e_settings(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Settings:
    home = tmp_path_factory.mktemp("home")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    return Settings.load(
        home=home, broker_url=redis_server.url, queue=queue, environ={}
    )


@pytest.fixture(scope="module")
def e2e_worker(
    e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    worker = WorkerProcess(e2e_settings, log, "e2e@%h")
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def e2e_client(e2e_settings: Settings, e2e_worker: WorkerProcess) -> Client:
    return Client(e2e_settings)
