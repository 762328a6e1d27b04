"""One worker process per test module, serving a queue of that module's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.client import Client
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from tests.conftest import WorkerProcess, queue_settings, serve


@pytest.fixture(scope="module")
def e2e_settings(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Settings:
    return queue_settings(tmp_path_factory.mktemp("home"), redis_server)


@pytest.fixture(scope="module")
def e2e_worker(
    e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    yield from serve(e2e_settings, tmp_path_factory, "e2e@%h")


@pytest.fixture(scope="module")
def e2e_client(e2e_settings: Settings, e2e_worker: WorkerProcess) -> Client:
    return Client(e2e_settings)
