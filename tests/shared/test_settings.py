"""Settings come from flags, then the environment, then the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.errors import BrokerError, ConfigError
from shared.queue import connect_redis
from shared.redis_server import EmbeddedRedis
from shared.settings import Settings, redact


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


def test_flag_beats_environment_beats_config_file(tmp_path: Path) -> None:
    write_config(tmp_path, 'broker_url = "redis://file:1/0"\nqueue = "fromfile"\n')
    env = {"GENQUEUE_BROKER_URL": "redis://env:2/0", "GENQUEUE_QUEUE": "fromenv"}

    assert Settings.load(home=tmp_path, environ={}).broker_url == "redis://file:1/0"
    assert Settings.load(home=tmp_path, environ=env).broker_url == "redis://env:2/0"
    flagged = Settings.load(home=tmp_path, environ=env, broker_url="redis://flag:3/0")
    assert flagged.broker_url == "redis://flag:3/0"
    assert flagged.queue == "fromenv"


def test_home_comes_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.load(environ={"GENQUEUE_HOME": str(tmp_path)})

    assert settings.home == tmp_path.resolve()
    assert settings.db_path == tmp_path.resolve() / "history.sqlite3"
    assert settings.artifact_dir == tmp_path.resolve() / "artifacts"


def test_unknown_config_keys_are_named(tmp_path: Path) -> None:
    write_config(tmp_path, 'brokr_url = "x"\n')

    with pytest.raises(ConfigError, match=r"Unknown keys \['brokr_url'\]"):
        Settings.load(home=tmp_path, environ={})


def test_broken_config_file_names_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, "broker_url = \n")

    with pytest.raises(ConfigError, match="config.toml"):
        Settings.load(home=tmp_path, environ={})


def test_visibility_timeout_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match="visibility_timeout must be a whole number of seconds, at least 1; got '-1'",
    ):
        Settings.load(home=tmp_path, environ={"GENQUEUE_VISIBILITY_TIMEOUT": "-1"})


def test_a_lease_too_short_for_the_heartbeat_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lease_seconds .* at least 5; got '2'"):
        Settings.load(home=tmp_path, environ={"GENQUEUE_LEASE_SECONDS": "2"})


def test_attempts_come_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("max_attempts = 5\nlease_seconds = 12\n")

    settings = Settings.load(home=tmp_path, environ={})

    assert (settings.max_attempts, settings.lease_seconds) == (5, 12)
    with pytest.raises(
        ConfigError, match="max_attempts must be a whole number of runs"
    ):
        Settings.load(home=tmp_path, environ={"GENQUEUE_MAX_ATTEMPTS": "0"})


def test_redact_hides_the_password_only() -> None:
    assert redact("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert redact("rediss://user:pw@h:1/2") == "rediss://user:***@h:1/2"
    assert redact("redis://localhost:6379/0") == "redis://localhost:6379/0"


@pytest.mark.parametrize("url", ["garbage", "http://host:1/0", "amqp://guest@h//"])
def test_a_broker_url_that_is_not_redis_is_refused_with_the_form(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(ConfigError, match=r"not a Redis URL; use redis://:PASSWORD@"):
        Settings.load(home=tmp_path, environ={"GENQUEUE_BROKER_URL": url})


def test_a_broker_database_that_is_no_number_is_named_without_the_password(
    tmp_path: Path,
) -> None:
    url = "redis://:s3cret@host:6379/abc"

    with pytest.raises(ConfigError, match="database 'abc', which is not a number") as e:
        Settings.load(home=tmp_path, environ={"GENQUEUE_BROKER_URL": url})

    assert "s3cret" not in str(e.value)


def test_a_database_the_server_does_not_have_is_named_with_the_way_out(
    redis_server: EmbeddedRedis, tmp_path: Path
) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/99"
    settings = Settings.load(home=tmp_path, broker_url=url, environ={})

    with pytest.raises(BrokerError, match="has no database 99 .* end the broker URL"):
        connect_redis(settings)


def test_config_values_of_the_wrong_type_are_named(tmp_path: Path) -> None:
    write_config(tmp_path, "broker_url = 5\n")

    with pytest.raises(
        ConfigError, match="broker_url in .* must be a quoted string, got 5"
    ):
        Settings.load(home=tmp_path, environ={})


def test_a_config_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b'queue = "\xff\xfe"\n')

    with pytest.raises(ConfigError, match="Cannot read the config file"):
        Settings.load(home=tmp_path, environ={})


def test_a_home_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("x")

    with pytest.raises(ConfigError, match="is a file, not a folder"):
        Settings.load(environ={"GENQUEUE_HOME": str(file)})


def test_a_missing_explicit_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GENQUEUE_CONFIG names .* not a file"):
        Settings.load(home=tmp_path, environ={"GENQUEUE_CONFIG": str(tmp_path / "x")})


def test_a_home_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(ConfigError, match="Cannot make the genqueue home .*a-file/sub"):
        Settings.load(home=blocker / "sub", environ={})
