"""The shared artifact location: where it comes from and what it refuses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.settings import Settings


def load(
    tmp_path: Path, environ: dict[str, str] | None = None, **flags: str
) -> Settings:
    return Settings.load(home=tmp_path / "home", environ=environ or {}, **flags)


def test_outputs_stay_on_the_worker_unless_a_location_is_set(tmp_path: Path) -> None:
    assert load(tmp_path).artifact_url is None
    assert load(tmp_path, {"GENQUEUE_ARTIFACT_URL": ""}).artifact_url is None


def test_the_location_comes_from_the_flag_then_the_environment_then_the_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "home").mkdir()
    config = 'artifact_url = "file:///srv/from-config"\n'
    (tmp_path / "home" / "config.toml").write_text(config)
    environ = {"GENQUEUE_ARTIFACT_URL": "memory://from-env"}

    from_config = load(tmp_path).artifact_url
    from_env = load(tmp_path, environ).artifact_url
    from_flag = load(tmp_path, environ, artifact_url="/srv/flag").artifact_url

    assert from_config == "file:///srv/from-config"
    assert from_env == "memory://from-env"
    assert from_flag == "/srv/flag"


def test_an_unknown_protocol_is_named_with_the_password_hidden(
    tmp_path: Path,
) -> None:
    environ = {"GENQUEUE_ARTIFACT_URL": "nope://me:hunter2@host/models"}

    with pytest.raises(ConfigError) as caught:
        load(tmp_path, environ)

    message = str(caught.value)
    assert "'nope://me:***@host/models'" in message
    assert "protocol 'nope'" in message and "s3://BUCKET/PREFIX" in message
    assert "hunter2" not in message


@pytest.mark.skipif(
    importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed here"
)
def test_a_protocol_whose_backend_is_missing_names_what_to_install(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, artifact_url="s3://KEY:SECRET@bucket/genqueue")

    message = str(caught.value)
    assert "'s3://KEY:***@bucket/genqueue'" in message
    assert "s3fs" in message and "install it" in message
    assert "SECRET" not in message


def test_a_url_given_as_the_artifact_folder_points_to_artifact_url(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match="set it as artifact_url"):
        load(tmp_path, {"GENQUEUE_ARTIFACT_DIR": "file:///mnt/shared"})


def test_a_location_in_the_config_must_be_a_string(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "config.toml").write_text("artifact_url = 3\n")

    with pytest.raises(ConfigError, match="artifact_url in .* must be a quoted"):
        load(tmp_path)
