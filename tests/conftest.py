"""Fixtures that start real parts: a Redis server, genqueue settings, worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.client import Client
from shared.downloads import CACHE_ENV
from shared.redis_server import EmbeddedRedis, free_port
from shared.settings import Settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data cache for the whole run, shared by every worker process started.

    Each dataset's quality classifier is then trained once per run rather than once
    per test, and the tester's own cache (downloads, Inception weights) stays out.
    """
    path = tmp_path_factory.mktemp("data-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A Redis of the tests' own, on a free port, with its own data directory."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port())
    server.start()
    yield server
    server.stop()


def queue_settings(
    home: Path, redis_server: EmbeddedRedis, environ: dict[str, str] | None = None
) -> Settings:
    """Settings for `home` with a queue of their own on the tests' Redis.

    Only `environ` is read from the environment, never the tester's own shell.
    """
    queue = f"test-{uuid.uuid4().hex[:8]}"
    return Settings.load(
        home=home, broker_url=redis_server.url, queue=queue, environ=environ or {}
    )


def serve(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[WorkerProcess]:
    """A worker process for a module-scoped fixture to yield from; stopped after."""
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    worker = WorkerProcess(settings, log, name)
    yield worker
    worker.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis for one test alone, which it may stop and start again."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, redis_server: EmbeddedRedis) -> Settings:
    """Settings with a fresh home directory and a queue of its own on the tests' Redis."""
    return queue_settings(tmp_path / "home", redis_server)


@pytest.fixture
def client(settings: Settings) -> Client:
    return Client(settings)


class WorkerProcess:
    """A real `genqueue worker` process, with its log kept for failed tests."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        name: str,
        *,
        inception_weights: str = "off",
    ) -> None:
        env = {
            **os.environ,
            # FID only where a test asks for it: Inception weights in the tester's
            # dataset cache would slow every job and rename its metric.
            "GENQUEUE_INCEPTION_WEIGHTS": inception_weights,
            "GENQUEUE_HOME": str(settings.home),
            "GENQUEUE_QUEUE": settings.queue,
            "GENQUEUE_ARTIFACT_DIR": str(settings.artifact_dir),
            # Empty when unset, so a location in the tester's own shell stays out.
            "GENQUEUE_ARTIFACT_URL": settings.artifact_url or "",
            "GENQUEUE_VISIBILITY_TIMEOUT": str(settings.visibility_timeout),
            "GENQUEUE_LEASE_SECONDS": str(settings.lease_seconds),
            "GENQUEUE_MAX_ATTEMPTS": str(settings.max_attempts),
            "PYTHONUNBUFFERED": "1",
        }
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "shared.cli", "worker", "--name", name]
        command += ["--broker", settings.broker_url or ""]
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.wait_ready()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[object]:
    """Start worker processes for a test's settings; all are stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, name: str = "test@%h") -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker{len(started)}.log", name)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
