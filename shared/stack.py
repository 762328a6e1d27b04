"""The single-machine stack `genqueue up` runs: embedded Redis, one worker, ingestion.

It stops only what it started: a Redis already running for this home directory, or a
broker configured elsewhere, is used and left running.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

import redis

from shared.client import Client
from shared.errors import BrokerError, ConfigError
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings, redact

logger = logging.getLogger(__name__)

WORKER_STOP_SECONDS = 30
MAX_RESTARTS = 5


class LocalStack:
    """Context manager that starts the pieces in order and stops them in reverse."""

    def __init__(self, settings: Settings, *, ingest: bool = True) -> None:
        self.settings = settings
        self.ingest = ingest
        self.redis: EmbeddedRedis | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.client = Client(settings)
        self._stop = threading.Event()
        self._lock: TextIO | None = None
        self._restarts: list[float] = []
        self._ingest = threading.Thread(
            target=self._ingest_loop, name="ingest", daemon=True
        )
        self._supervisor = threading.Thread(
            target=self._supervise, name="supervisor", daemon=True
        )

    def __enter__(self) -> LocalStack:
        try:
            self._take_lock()
            self._start_redis()
            self._start_worker()
            self._supervisor.start()
            if self.ingest:
                self._ingest.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        self.close()

    def describe(self) -> str:
        broker = redact(
            self.settings.broker_url or EmbeddedRedis(self.settings.redis_dir).url
        )
        owned = " (started here)" if self.redis else ""
        return (
            f"genqueue is up: broker {broker}{owned}, one local worker, history in "
            f"{self.settings.db_path}.\nSubmit a job from another terminal, for example:\n"
            "  genqueue submit train --model vae --dataset digits --epochs 5\n"
            "Ctrl-C stops what this command started."
        )

    def wait_for_interrupt(self) -> None:
        """Block until Ctrl-C, SIGTERM or SIGHUP, or until the worker keeps dying."""
        # SIGHUP too: a closed terminal must not leave Redis and the worker behind.
        _interrupt_on(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        try:
            while not self._stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            return
        raise BrokerError(
            f"The local worker died {MAX_RESTARTS} times within a minute; see its log above."
        )

    def close(self) -> None:
        self._stop.set()
        for thread in (self._ingest, self._supervisor):
            if thread.is_alive():
                thread.join(timeout=5)
        self._stop_worker()
        self._catch_up()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _take_lock(self) -> None:
        """One `up` per home: a second would start a second worker on the same data."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        handle = open(self.settings.home / "up.lock", "a+")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "?"
            handle.close()
            raise ConfigError(
                f"genqueue up is already running for {self.settings.home} (pid {owner}); "
                "open the app with `genqueue gui`, or stop that one first."
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def _revive_redis(self) -> None:
        process = self.redis.process if self.redis else None
        if self.redis is None or process is None or process.poll() is None:
            return
        logger.warning(
            "the embedded Redis exited with code %s; starting it again",
            process.returncode,
        )
        try:
            self.redis.start()
        except BrokerError as exc:
            logger.error("cannot start the embedded Redis again: %s", exc)

    def _supervise(self) -> None:
        """Start Redis or the worker again when one dies, unless it keeps dying."""
        while not self._stop.wait(1.0):
            self._revive_redis()
            if self.worker is None or self.worker.poll() is None:
                continue
            now = time.monotonic()
            self._restarts = [t for t in self._restarts if now - t < 60] + [now]
            if len(self._restarts) > MAX_RESTARTS:
                logger.error("the local worker keeps dying; stopping")
                self._stop.set()
                return
            logger.warning(
                "the local worker exited with code %s; starting it again",
                self.worker.returncode,
            )
            self._start_worker()

    def _start_redis(self) -> None:
        embedded = EmbeddedRedis(self.settings.redis_dir)
        if self.settings.broker_url and not embedded.is_own_url(
            self.settings.broker_url
        ):
            return
        if embedded.is_running():
            logger.info("using the embedded Redis that is already running")
            return
        embedded.start()
        self.redis = embedded

    def _start_worker(self) -> None:
        env = {**os.environ, "GENQUEUE_HOME": str(self.settings.home)}
        if self.settings.broker_url:
            # Through the environment, so the password stays out of `ps`.
            env["GENQUEUE_BROKER_URL"] = self.settings.broker_url
        command = [sys.executable, "-m", "shared.cli", "worker", "--name", "local@%h"]
        # A session of its own, so the terminal's Ctrl-C reaches only this process,
        # which then stops the worker before the Redis it reports to.
        self.worker = subprocess.Popen(command, env=env, start_new_session=True)

    def _stop_worker(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            return
        self.worker.send_signal(signal.SIGTERM)
        try:
            self.worker.wait(WORKER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning(
                "the worker did not stop within %d s; killing it", WORKER_STOP_SECONDS
            )
            self.worker.kill()
            self.worker.wait()

    def _catch_up(self) -> None:
        """Store the worker's last events, such as a job handed back, before Redis
        stops; otherwise the history shows that job running until the next start."""
        try:
            self.client.ingestor.catch_up()
        except (BrokerError, redis.RedisError) as exc:
            logger.warning("could not store the last events: %s", exc)

    def _ingest_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.ingestor.poll(block_ms=1000)
            except (BrokerError, redis.RedisError) as exc:
                logger.warning("ingestion paused: %s", exc)
                self._stop.wait(2.0)
            self._stop.wait(0.05)


def _interrupt_on(*signals: signal.Signals) -> None:
    """Turn these signals into KeyboardInterrupt, even where they were ignored.

    A shell starts background commands with SIGINT ignored, and SIGTERM would end
    Python without stopping the children; either way the stack must shut down.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for number in signals:
        signal.signal(number, interrupt)
