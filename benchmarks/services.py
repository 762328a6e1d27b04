"""The real parts the benchmarks run against: a Redis server and worker processes.

Redis is the embedded one genqueue itself starts, on a free port with a data folder
of the run's own. Workers are real processes: `genqueue worker` for genqueue, and a
plain Celery worker (benchmarks/raw_celery.py) with the same broker settings for the
baseline. Each is stopped by the process that started it, never by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from shared.redis_server import EmbeddedRedis, free_port
from shared.settings import Settings

REPO = Path(__file__).resolve().parent.parent
READY_SECONDS = 120.0


def start_redis(folder: Path) -> EmbeddedRedis:
    server = EmbeddedRedis(folder / "redis", port=free_port())
    server.start()
    return server


def bench_settings(home: Path, server: EmbeddedRedis) -> Settings:
    """Settings on the run's Redis with a queue of their own."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    return Settings.load(home=home, broker_url=server.url, queue=queue, environ={})


class Process:
    """A worker process whose output goes to a log file, ready once it says so.

    It starts at once; `wait_ready` waits for its ready line, so that several can
    start side by side.
    """

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> Process:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            # Both Celery workers say so once they take tasks.
            if " ready." in self.log():
                return self
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early; its log:\n{self.log()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"worker not ready after {READY_SECONDS:g} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def genqueue_worker(
    settings: Settings, log_path: Path, *, noop_jobs: bool = False
) -> Process:
    """A real `genqueue worker` serving the settings' queue, FID left off.

    With `noop_jobs` it is benchmarks/noop_worker.py: the same worker, which also
    takes jobs that do no work.
    """
    env = {
        **os.environ,
        # Inception weights in the user's cache would add minutes a job.
        "GENQUEUE_INCEPTION_WEIGHTS": "off",
        "GENQUEUE_HOME": str(settings.home),
        "GENQUEUE_QUEUE": settings.queue,
        "GENQUEUE_ARTIFACT_DIR": str(settings.artifact_dir),
        "GENQUEUE_ARTIFACT_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    if noop_jobs:
        env["GENQUEUE_BROKER_URL"] = settings.broker_url or ""
        command = [sys.executable, "-m", "benchmarks.noop_worker"]
    else:
        command = [sys.executable, "-m", "shared.cli", "worker"]
        command += ["--broker", settings.broker_url or ""]
    command += ["--name", "bench@%h"]
    return Process(command, env, log_path)


def raw_celery_worker(settings: Settings, log_path: Path) -> Process:
    """A plain Celery worker with genqueue's broker settings and no genqueue code."""
    env = {
        **os.environ,
        "BENCH_HOME": str(settings.home),
        "BENCH_BROKER_URL": settings.broker_url or "",
        "BENCH_QUEUE": settings.queue,
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "benchmarks.raw_celery"]
    command += ["worker", "--pool=solo", "--concurrency=1", "--loglevel=info"]
    command += ["--without-mingle", "--without-gossip", "--hostname=raw@%h"]
    command += [f"--queues={settings.queue}"]
    return Process(command, env, log_path)
