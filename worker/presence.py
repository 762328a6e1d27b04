"""Announce a worker in Redis: its queue, device, current job and a heartbeat.

Clients list the workers online from these keys; each expires on its own when the
worker stops renewing it, so a worker that died drops out of the list.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

import redis

from shared.events import HEARTBEAT_SECONDS, worker_key

logger = logging.getLogger(__name__)

PRESENCE_SECONDS = 15


class Presence:
    """One worker's entry in the list of workers online."""

    def __init__(
        self,
        client: redis.Redis,
        queue: str,
        device: str,
        chores: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.client = client
        self.queue = queue
        self.device = device
        # Work every worker does on each beat, such as recovering lost jobs.
        self.chores = chores
        self.hostname = ""
        self.current_job = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="presence", daemon=True)

    def start(self, hostname: str) -> None:
        self.hostname = hostname
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        try:
            self.client.delete(worker_key(self.hostname))
        except redis.RedisError:
            logger.debug("could not remove the presence of %s", self.hostname)

    def _run(self) -> None:
        while True:
            self._announce()
            for chore in self.chores:
                try:
                    chore()
                except Exception:
                    # One bad chore must not silence the worker's heartbeat.
                    logger.exception("worker chore %r failed", chore)
            if self._stop.wait(HEARTBEAT_SECONDS):
                return

    def _announce(self) -> None:
        fields = {
            "hostname": self.hostname,
            "queue": self.queue,
            "device": self.device,
            "current_job": self.current_job,
            "pid": os.getpid(),
            "heartbeat": time.time(),
        }
        try:
            pipe = self.client.pipeline()
            pipe.hset(worker_key(self.hostname), mapping=fields)  # type: ignore[arg-type]
            pipe.expire(worker_key(self.hostname), PRESENCE_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            logger.warning("cannot announce worker %s: %s", self.hostname, exc)
