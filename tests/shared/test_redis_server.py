"""The embedded Redis listens on loopback with a private password and an AOF."""

from __future__ import annotations

import stat
from pathlib import Path

import redis

from shared.redis_server import EmbeddedRedis, free_port


def test_embedded_redis_is_private_persistent_and_restartable(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.set("kept", "yes")
        anonymous = redis.Redis(port=server.port)
        try:
            anonymous.ping()
            raise AssertionError("a client without the password was let in")
        except redis.AuthenticationError:
            pass
    finally:
        server.stop()

    mode = stat.S_IMODE((tmp_path / "redis" / "password").stat().st_mode)
    assert mode == 0o600
    again = EmbeddedRedis(tmp_path / "redis")
    again.start()
    try:
        assert redis.Redis.from_url(again.url).get("kept") == b"yes"
    finally:
        again.stop()
