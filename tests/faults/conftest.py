"""The fault-injection suite: real Redis, real workers and clients, killed for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.client import Client
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings
from tests.conftest import queue_settings

# Short enough that a lost worker is noticed in seconds, long enough for a beat or two
# to go missing on a busy 2-core machine without a false alarm.
FAST_LEASE_SECONDS = 6


@pytest.fixture
def fast_settings(tmp_path: Path, redis_server: EmbeddedRedis) -> Settings:
    """Settings whose workers notice a lost worker within seconds, not half a minute."""
    environ = {"GENQUEUE_LEASE_SECONDS": str(FAST_LEASE_SECONDS)}
    return queue_settings(tmp_path / "home", redis_server, environ)


@pytest.fixture
def fast_client(fast_settings: Settings) -> Client:
    return Client(fast_settings)


@pytest.fixture(scope="session")
def shared_artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One artifact folder for the security tests' workers.

    The quality metric's classifier for digits is then trained once, not per test.
    """
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture
def start_env_worker(start_worker, monkeypatch: pytest.MonkeyPatch):
    """Start workers that read the broker URL from the environment, as `up` does.

    The password is then in neither `ps` nor the worker's command line.
    """
    from dataclasses import replace

    def start(settings: Settings, name: str = "test@%h"):
        assert settings.broker_url, "these workers need an explicit broker URL"
        monkeypatch.setenv("GENQUEUE_BROKER_URL", settings.broker_url)
        return start_worker(replace(settings, broker_url=None), name)

    return start
